//! Who may call: the API keys (`X-API-Key: <pk>:<sk>` or `Authorization: Bearer <pk>:<sk>`),
//! the dashboard's IP whitelist, and the documented rate limits, counted per API key over
//! sliding windows (https://docs.caurisflux.com/guides/errors, "Erreurs de limite").

use std::{
    collections::VecDeque,
    net::IpAddr,
    time::{Duration, Instant},
};

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq;

use super::{routes::*, wire::API_KEY_HEADER, *};

/// Sliding-window request counts per API key.
#[derive(Debug, Default)]
pub(super) struct Limiter {
    hits: HashMap<String, VecDeque<Instant>>,
}

pub(super) const MINUTE: Duration = Duration::from_secs(60);
pub(super) const HOUR: Duration = Duration::from_secs(3600);

impl Limiter {
    /// Counts a request of `key` at `now`, or says how long to wait.
    pub(super) fn admit(
        &mut self,
        key: &str,
        now: Instant,
        per_minute: u32,
        per_hour: u32,
    ) -> Result<(), Duration> {
        let q = self.hits.entry(key.to_owned()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= HOUR) {
            q.pop_front();
        }
        let in_minute = q.iter().rev().take_while(|t| now.duration_since(**t) < MINUTE).count();
        if in_minute >= per_minute as usize {
            let oldest = q.get(q.len() - in_minute).copied().unwrap_or(now);
            return Err(MINUTE.saturating_sub(now.duration_since(oldest)));
        }
        if q.len() >= per_hour as usize {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(HOUR.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }
}

/// Why an API request is turned away before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// `401 UNAUTHORIZED`, with the reason.
    Unauthorized(&'static str),
    /// `403 FORBIDDEN`: the address is not on the whitelist.
    Forbidden,
    /// `429 RATE_LIMIT_EXCEEDED`, with the wait before a request is admitted again.
    RateLimited(Duration),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthorized(why) => error(StatusCode::UNAUTHORIZED, Some("UNAUTHORIZED"), why),
            Refusal::Forbidden => error(StatusCode::FORBIDDEN, Some("FORBIDDEN"), "Adresse IP non autorisée"),
            Refusal::RateLimited(wait) => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    Some("RATE_LIMIT_EXCEEDED"),
                    "Trop de requêtes : attendez avant de réessayer",
                );
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                r
            }
        }
    }
}

/// Authenticates and rate-limits an API request (docs `api-reference/introduction`, `guides/errors`).
pub(super) fn guard(inner: &Inner, headers: &HeaderMap, peer: IpAddr) -> Result<(), Refusal> {
    let presented = headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(Refusal::Unauthorized("Clé API manquante dans l'en-tête X-API-Key"))?;
    let (public, secret) = presented.split_once(':').filter(|(p, s)| !p.is_empty() && !s.is_empty()).ok_or(
        Refusal::Unauthorized("Format de clé API incorrect : clé publique ou secrète manquante (pk_…:sk_…)"),
    )?;
    let public_ok: bool = public.as_bytes().ct_eq(inner.merchant.public_key.as_bytes()).into();
    let secret_ok: bool = secret.as_bytes().ct_eq(inner.merchant.secret_key.as_bytes()).into();
    if !(public_ok && secret_ok) {
        return Err(Refusal::Unauthorized("Clé API invalide ou révoquée"));
    }
    let allowed = &inner.config.allowed_ips;
    if !allowed.is_empty() && !allowed.contains(&peer) {
        return Err(Refusal::Forbidden);
    }
    lock(&inner.limiter)
        .admit(public, Instant::now(), inner.config.rate_per_minute, inner.config.rate_per_hour)
        .map_err(Refusal::RateLimited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_slide() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(l.admit("k", t0 + Duration::from_secs(i), 3, 5).is_ok());
        }
        let wait = l.admit("k", t0 + Duration::from_secs(10), 3, 5).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50), "until the first request leaves the minute");
        assert!(l.admit("other", t0 + Duration::from_secs(10), 3, 5).is_ok(), "per key");
        assert!(l.admit("k", t0 + Duration::from_secs(60), 3, 5).is_ok());
        assert!(l.admit("k", t0 + Duration::from_secs(200), 3, 5).is_ok());
        let wait = l.admit("k", t0 + Duration::from_secs(300), 3, 5).unwrap_err();
        assert_eq!(wait, Duration::from_secs(3300), "the hour is full until the first leaves it");
        assert!(l.admit("k", t0 + Duration::from_secs(3600), 3, 5).is_ok());
    }
}
