//! Request rate limits with `tower_governor` (GCRA limiters of the `governor` crate, kept in
//! memory by each instance), set by `[limits]` ([`LimitSettings`]):
//!
//! - per client address ([`super::client_ip`]): the public API, the hosted pages (`/pay/{id}`,
//!   `/embed`, `/hosted/*`) share one quota (`public_per_ip`); `/webhooks/*` has its own
//!   (`webhooks_per_ip`); IPv6 clients are counted per /64, the block one subscriber gets;
//! - per client secret on the public API (`public_per_secret`), whoever sends it;
//! - tighter on the public API's POSTs (`pay_per_secret`, `pay_per_ip`): `…/pay`, and
//!   `…/attempts/{attempt_id}/cancel`, which a customer follows with another `pay`;
//! - the dashboard's login, per client address (`login_per_ip`): a few tries a minute.
//!
//! A refused request gets `429` with `Retry-After` (whole seconds, rounded up) and the API's
//! JSON error (`rate_limited`, `payment_error: TOO_MANY_REQUESTS`); it reached no handler.
//! The widget's steady load (one SSE stream, or one poll every 3 s when streams are blocked)
//! stays far below every default. Keys not seen for a while are forgotten every minute.

use std::{
    net::{IpAddr, Ipv6Addr},
    sync::{Arc, Weak},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::Query,
    http::{Method, Request, Response, header},
    response::IntoResponse,
};
use governor::middleware::NoOpMiddleware;
use ipnet::IpNet;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_governor::{
    GovernorError, GovernorLayer,
    governor::{GovernorConfig, GovernorConfigBuilder, SharedRateLimiter},
    key_extractor::KeyExtractor,
};

use super::client_ip;
use crate::{
    config::{LimitSettings, Rate},
    error::AppError,
};

/// How often keys that have their whole quota back are dropped.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Keys a limiter by the client's address; IPv6 by its /64.
#[derive(Debug, Clone)]
pub struct ClientIpKey {
    trusted: Arc<[IpNet]>,
}

impl KeyExtractor for ClientIpKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        Ok(bucket(client_ip::client_ip(&self.trusted, client_ip::peer(req.extensions()), req.headers())))
    }
}

/// The address a limiter counts: IPv4 as it is, IPv6 cut to its /64 (an ISP gives one
/// subscriber a /64 or more, RFC 6177, so the addresses inside are one client's to change).
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

/// Keys a limiter by the client secret the request presents (`Authorization: Bearer`, or
/// `?client_secret=` for `EventSource`), as the first 16 bytes of its SHA-256: the limiter
/// never holds a secret. Requests without one share one key (they are refused with 401).
#[derive(Debug, Clone, Copy)]
pub struct ClientSecretKey;

#[derive(Deserialize)]
struct SecretQuery {
    client_secret: Option<String>,
}

impl KeyExtractor for ClientSecretKey {
    type Key = Option<[u8; 16]>;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|s| s.trim().to_owned());
        let secret = bearer.or_else(|| {
            Query::<SecretQuery>::try_from_uri(req.uri()).ok().and_then(|Query(q)| q.client_secret)
        });
        Ok(secret.map(|s| {
            let digest = Sha256::digest(s.as_bytes());
            let mut key = [0u8; 16];
            key.copy_from_slice(&digest[..16]);
            key
        }))
    }
}

type IpConfig = Arc<GovernorConfig<ClientIpKey, NoOpMiddleware>>;
type SecretConfig = Arc<GovernorConfig<ClientSecretKey, NoOpMiddleware>>;

/// The verifier's rate limiters, built once from the settings and layered on the routers.
#[derive(Debug, Clone)]
pub struct RateLimits {
    public_per_ip: IpConfig,
    webhooks_per_ip: IpConfig,
    public_per_secret: SecretConfig,
    pay_per_secret: SecretConfig,
    pay_per_ip: IpConfig,
    login_per_ip: IpConfig,
}

fn ip_config(rate: Rate, trusted: &Arc<[IpNet]>, methods: Option<Vec<Method>>) -> IpConfig {
    let mut builder = GovernorConfigBuilder::default();
    builder.period(rate.period()).burst_size(rate.burst.get());
    if let Some(methods) = methods {
        builder.methods(methods);
    }
    let config = builder.key_extractor(ClientIpKey { trusted: trusted.clone() }).finish();
    // `finish` refuses only a zero burst or period, which `Rate` cannot hold.
    Arc::new(config.unwrap_or_else(|| unreachable!("a Rate is never zero")))
}

fn secret_config(rate: Rate, methods: Option<Vec<Method>>) -> SecretConfig {
    let mut builder = GovernorConfigBuilder::default();
    builder.period(rate.period()).burst_size(rate.burst.get());
    if let Some(methods) = methods {
        builder.methods(methods);
    }
    let config = builder.key_extractor(ClientSecretKey).finish();
    Arc::new(config.unwrap_or_else(|| unreachable!("a Rate is never zero")))
}

impl RateLimits {
    /// The limiters `settings` asks for. Within a Tokio runtime, a task forgets idle keys every
    /// minute until the limiters are dropped.
    pub fn new(settings: &LimitSettings) -> RateLimits {
        let trusted: Arc<[IpNet]> = settings.trusted_proxies.clone().into();
        let limits = RateLimits {
            public_per_ip: ip_config(settings.public_per_ip, &trusted, None),
            webhooks_per_ip: ip_config(settings.webhooks_per_ip, &trusted, None),
            public_per_secret: secret_config(settings.public_per_secret, None),
            // The public API's POSTs: `pay`, and `cancel`, which a customer follows with another
            // `pay`.
            pay_per_secret: secret_config(settings.pay_per_secret, Some(vec![Method::POST])),
            pay_per_ip: ip_config(settings.pay_per_ip, &trusted, Some(vec![Method::POST])),
            login_per_ip: ip_config(settings.login_per_ip, &trusted, Some(vec![Method::POST])),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(forget_idle_keys(limits.weak()));
        }
        limits
    }

    /// The public API (`/v1/public/*`): per address first (so that a flood of made-up secrets
    /// is stopped before it makes keys), then per secret, then `pay`'s own.
    pub fn public<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router
            .layer(layer(&self.pay_per_secret))
            .layer(layer(&self.pay_per_ip))
            .layer(layer(&self.public_per_secret))
            .layer(layer(&self.public_per_ip))
    }

    /// The hosted pages: the public API's per-address quota.
    pub fn hosted<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router.layer(layer(&self.public_per_ip))
    }

    /// The dashboard's login, per address: counts its POSTs only (a layer for its method
    /// router, which also serves the form).
    pub fn login(&self) -> GovernorLayer<ClientIpKey, NoOpMiddleware, Body> {
        layer(&self.login_per_ip)
    }

    /// Provider notifications, per address.
    pub fn webhooks<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        router.layer(layer(&self.webhooks_per_ip))
    }

    fn weak(&self) -> WeakLimits {
        WeakLimits {
            ips: [&self.public_per_ip, &self.webhooks_per_ip, &self.pay_per_ip, &self.login_per_ip]
                .map(|c| Arc::downgrade(c.limiter())),
            secrets: [&self.public_per_secret, &self.pay_per_secret].map(|c| Arc::downgrade(c.limiter())),
        }
    }
}

type IpLimiter = <SharedRateLimiter<IpAddr, NoOpMiddleware> as std::ops::Deref>::Target;
type SecretLimiter = <SharedRateLimiter<Option<[u8; 16]>, NoOpMiddleware> as std::ops::Deref>::Target;

struct WeakLimits {
    ips: [Weak<IpLimiter>; 4],
    secrets: [Weak<SecretLimiter>; 2],
}

/// Drops the keys whose quota is whole again (governor's `retain_recent`), so that the
/// limiters' memory follows the clients of the last minutes, not every client ever seen.
async fn forget_idle_keys(limits: WeakLimits) {
    let mut tick = tokio::time::interval(FORGET_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        let mut alive = false;
        for limiter in limits.ips.iter().filter_map(Weak::upgrade) {
            limiter.retain_recent();
            limiter.shrink_to_fit();
            alive = true;
        }
        for limiter in limits.secrets.iter().filter_map(Weak::upgrade) {
            limiter.retain_recent();
            limiter.shrink_to_fit();
            alive = true;
        }
        if !alive {
            return;
        }
    }
}

fn layer<K: KeyExtractor>(
    config: &Arc<GovernorConfig<K, NoOpMiddleware>>,
) -> GovernorLayer<K, NoOpMiddleware, Body> {
    GovernorLayer::new(config.clone()).error_handler(refused)
}

/// The answer to a refused request: the API's JSON error, 429 with `Retry-After`.
fn refused(error: GovernorError) -> Response<Body> {
    match error {
        // governor's wait is cut to whole seconds: the next second is the first that is sure.
        GovernorError::TooManyRequests { wait_time, .. } => {
            AppError::RateLimited { retry_after: Duration::from_secs(wait_time.saturating_add(1)) }
                .into_response()
        }
        // Neither key extractor fails; were one to, the request is not the client's fault.
        other => AppError::Internal(anyhow::anyhow!("rate limit: {other}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_per_64_and_ipv4_per_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(other));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(bucket(v4), v4);
    }

    #[test]
    fn the_secret_key_reads_the_bearer_or_the_query_and_holds_no_secret() {
        let from_header = Request::builder()
            .uri("/v1/public/checkouts/co_1")
            .header(header::AUTHORIZATION, "Bearer cs_abc")
            .body(())
            .unwrap();
        let from_query =
            Request::builder().uri("/v1/public/checkouts/co_1/events?client_secret=cs_abc").body(()).unwrap();
        let other = Request::builder().uri("/x?client_secret=cs_abd").body(()).unwrap();
        let none = Request::builder().uri("/x").body(()).unwrap();
        let k = |r: &Request<()>| ClientSecretKey.extract(r).unwrap();
        // `printf cs_abc | openssl dgst -sha256` =
        // 5194b158cd585be3d960f2998c3fd5b2b2c003bdd09661b7a71e104d81278149: its first 16 bytes.
        let expected: [u8; 16] = hex::decode("5194b158cd585be3d960f2998c3fd5b2").unwrap().try_into().unwrap();
        assert_eq!(k(&from_header), Some(expected));
        assert_eq!(k(&from_query), Some(expected));
        assert_ne!(k(&other), Some(expected));
        assert_eq!(k(&none), None);
    }

    #[test]
    fn the_widgets_heaviest_steady_load_never_meets_the_default_limits() {
        use governor::{Quota, RateLimiter, clock::FakeRelativeClock};
        // widget/src/api.rs `watch`: at worst a stream that breaks as soon as it opened, then
        // one poll, 3 s, and the stream again: two requests every 3 s, for an hour, after the
        // page's first read and QR code.
        let defaults = LimitSettings::default();
        for rate in [defaults.public_per_secret, defaults.public_per_ip] {
            let clock = FakeRelativeClock::default();
            let quota = Quota::with_period(rate.period()).unwrap().allow_burst(rate.burst);
            let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
            for _ in 0..2 {
                assert!(limiter.check().is_ok());
            }
            for step in 0..1200 {
                assert!(
                    limiter.check().is_ok() && limiter.check().is_ok(),
                    "{rate:?}: refused at step {step}"
                );
                clock.advance(Duration::from_secs(3));
            }
        }
    }

    #[test]
    fn a_rate_gives_its_burst_then_one_request_a_period() {
        let limits =
            RateLimits::new(&LimitSettings { pay_per_secret: Rate::new(2, 3), ..LimitSettings::default() });
        let limiter = limits.pay_per_secret.limiter();
        let key = Some([7u8; 16]);
        for _ in 0..3 {
            assert!(limiter.check_key(&key).is_ok());
        }
        let refused = limiter.check_key(&key).unwrap_err();
        let wait =
            refused.wait_time_from(governor::clock::Clock::now(&governor::clock::QuantaClock::default()));
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        // Another secret has its own quota.
        assert!(limiter.check_key(&Some([8u8; 16])).is_ok());
    }
}
