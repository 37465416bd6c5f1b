//! The dashboard's login: the merchant's secret key, checked as the merchant API checks it
//! ([`crate::merchant_keys::MerchantKeys::authenticate`]), exchanged for an opaque session.
//!
//! - The cookie holds only a random session id (256 bits of `rand`'s `ThreadRng`, a CSPRNG seeded by the OS;
//!   base64url),
//!   `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it),
//!   `Secure` when the verifier is reached over HTTPS, `Path=/dashboard`, and expiring with
//!   the session ([`SESSION_TTL`]); built by `axum-extra`'s cookie jar (the `cookie` crate).
//! - The sessions live in this instance's memory ([`Sessions`]): logging out deletes the
//!   session itself, not only the cookie; a restart logs everyone out; behind a load balancer
//!   with several instances, the dashboard needs sticky sessions.
//! - Each request checks the session's key again (cached 5 s by `MerchantKeys`): a key revoked
//!   by `verifier keys revoke` ends its sessions within seconds.
//! - Each session has its own CSRF token (256 random bits), which every POST form carries in a
//!   hidden field and which is compared in constant time ([`Session::csrf_ok`]): the OWASP
//!   "synchronizer token" pattern
//!   (<https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html>).
//!   The key never reaches the browser again, nor any log.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    extract::FromRequestParts,
    http::request::Parts,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::routes::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "verifier_dashboard";
/// How long a session lasts after its login.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The most sessions kept at once; the oldest is dropped for a new one beyond it.
const MAX_SESSIONS: usize = 1000;

/// A logged-in merchant's session.
pub struct Session {
    key: SecretString,
    csrf: String,
    expires: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("expires", &self.expires).finish_non_exhaustive()
    }
}

impl Session {
    /// The token every POST form of this session carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, presented: &str) -> bool {
        !presented.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// 32 random bytes, base64url without padding.
fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// This instance's sessions, by id.
#[derive(Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Arc<Session>>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// Opens a session for `key` (already authenticated); returns its id.
    pub fn open(&self, key: &str) -> String {
        let id = token();
        let session =
            Session { key: key.to_owned().into(), csrf: token(), expires: Instant::now() + SESSION_TTL };
        let mut all = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        all.retain(|_, s| s.expires > now);
        if all.len() >= MAX_SESSIONS
            && let Some(oldest) = all.iter().min_by_key(|(_, s)| s.expires).map(|(id, _)| id.clone())
        {
            all.remove(&oldest);
        }
        all.insert(id.clone(), Arc::new(session));
        id
    }

    /// The live session `id` names.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let mut all = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match all.get(id) {
            Some(s) if s.expires > Instant::now() => Some(Arc::clone(s)),
            Some(_) => {
                all.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

/// The session cookie for `id`: `HttpOnly`, `SameSite=Strict`, `Secure` when `https`, expiring
/// with the session.
pub fn cookie(id: String, https: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, id))
        .path("/dashboard")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(i64::try_from(SESSION_TTL.as_secs()).unwrap_or(i64::MAX)))
        .build()
}

/// The cookie that removes the session cookie.
pub fn removal() -> Cookie<'static> {
    Cookie::build((COOKIE, "")).path("/dashboard").build()
}

/// Proof that the request comes from a logged-in merchant whose key is still accepted; a
/// request without it is sent to the login page.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The session.
    pub session: Arc<Session>,
    /// Its id (the cookie's value).
    pub id: String,
}

/// Where a request without a session goes.
#[derive(Debug)]
pub struct ToLogin;

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to("/dashboard/login").into_response()
    }
}

impl FromRequestParts<AppState> for LoggedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let sessions = parts.extensions.get::<Sessions>().cloned().ok_or_else(|| ToLogin.into_response())?;
        let jar = CookieJar::from_headers(&parts.headers);
        let id = jar.get(COOKIE).map(|c| c.value().to_owned()).ok_or_else(|| ToLogin.into_response())?;
        let session = sessions.get(&id).ok_or_else(|| ToLogin.into_response())?;
        match state.merchant_keys.authenticate(session.key.expose_secret()).await {
            Ok(true) => Ok(LoggedIn { session, id }),
            Ok(false) => {
                sessions.close(&id);
                Err(ToLogin.into_response())
            }
            Err(e) => Err(crate::error::AppError::Internal(
                anyhow::Error::new(e).context("reading the merchant keys"),
            )
            .into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_id_until_closed_and_checks_its_own_token() {
        let sessions = Sessions::default();
        let id = sessions.open("mk_test_x");
        let other = sessions.open("mk_test_x");
        assert_ne!(id, other);
        assert_eq!(id.len(), 43, "256 bits in base64url");
        let s = sessions.get(&id).expect("open");
        assert!(s.csrf_ok(s.csrf()));
        assert!(!s.csrf_ok(""));
        assert!(!s.csrf_ok(sessions.get(&other).unwrap().csrf()));
        assert!(!format!("{s:?}").contains("mk_test"), "the key is never printed");
        sessions.close(&id);
        assert!(sessions.get(&id).is_none());
        assert!(sessions.get(&other).is_some());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        let c = cookie("abc".into(), true).to_string();
        for part in [
            "verifier_dashboard=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/dashboard",
            "Max-Age=28800",
        ] {
            assert!(c.contains(part), "{part} in {c}");
        }
        assert!(!cookie("abc".into(), false).to_string().contains("Secure"));
    }
}
