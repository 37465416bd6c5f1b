//! HTTP routes, one module per surface, and the layers around them.
//!
//! **Errors**: every error answer, of any route, the unknown ones and axum's own rejections
//! included, has the API's JSON body ([`errors`]).
//!
//! Handlers are thin: they extract and authenticate, call one [`Checkouts`] method, and map
//! the result. Layers mark credential headers sensitive before tracing, log paths without
//! query strings (the SSE URL carries the client secret), allow cross-origin calls to the
//! public API from the configured shop origins only (`[public_api] allowed_origins`) and to
//! the widget's assets from any, and run every handler in a task of its own ([`detached`]), so
//! that a client hanging up can never stop one half-way through a database transaction.
//!
//! **Limits** ([`with_limits`]): a request over `[http] max_concurrent_requests` is shed at once
//! with `503 unavailable` and `Retry-After` (tower's `LoadShed` over one `GlobalConcurrencyLimit`
//! for every route); a request whose response head is not ready within `request_timeout_ms`
//! is answered `503 unavailable` (its detached task still ends its work); a request body that
//! stalls for `body_read_timeout_ms` fails its read (tower-http's `RequestBodyTimeout`).
//!
//! **Security headers** ([`with_security_headers`]) on every response unless the route set its own:
//! `X-Content-Type-Options: nosniff` (MIME sniffing could run an asset as another type),
//! `Referrer-Policy: no-referrer`, a `Content-Security-Policy` that loads and frames nothing
//! (JSON, text, and the `/returned` page, whose only style is inline), and
//! `Strict-Transport-Security` when `public_url` is `https://`
//! (<https://owasp.org/www-project-secure-headers/>).

use axum::{
    Router,
    error_handling::HandleErrorLayer,
    extract::{DefaultBodyLimit, FromRequestParts, MatchedPath},
    http::{HeaderName, HeaderValue, Method, Request, header, request::Parts},
};
use tower::{BoxError, ServiceBuilder, limit::GlobalConcurrencyLimitLayer};
use tower_http::{
    cors::{AllowOrigin, Any, CorsLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    set_header::SetResponseHeaderLayer,
    timeout::RequestBodyTimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    checkouts::Checkouts,
    config::{HttpSettings, Origin, Settings},
    error::AppError,
};

pub mod assets;
pub mod client_ip;
pub mod errors;
pub mod hosted;
pub mod limits;
pub mod merchant;
pub mod openapi;
pub mod public;
pub mod service;
pub mod webhooks;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The payment service.
    pub checkouts: Checkouts,
    /// The merchant's API keys (configured and stored, [`crate::merchant_keys`]).
    pub merchant_keys: crate::merchant_keys::MerchantKeys,
    /// `[limits]`: the rate limits and the trusted proxies ([`client_ip`]).
    pub limits: std::sync::Arc<crate::config::LimitSettings>,
    /// The database's backend (`/readyz` names it).
    pub backend: crate::store::Backend,
}

/// The whole HTTP surface, as `settings` shape it; `https` when browsers reach it over HTTPS
/// (then HSTS is sent).
pub fn router(state: AppState, settings: &Settings, https: bool) -> Router {
    let origins = &settings.public_api.allowed_origins;
    let cors = |origins: AllowOrigin| {
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
    };
    // Rate limits per client address and per client secret (`limits`); a 429 still carries
    // the CORS headers, so the widget can read it.
    let rate = limits::RateLimits::new(&state.limits);
    let router = Router::new()
        .merge(merchant::router(state.clone()))
        .merge(rate.public(public::router()).layer(cors(shop_origins(origins))))
        .merge(rate.webhooks(webhooks::router()))
        .merge(rate.hosted(hosted::router(origins)))
        .merge(service::router())
        .merge(crate::dashboard::router(&rate, https))
        .route("/openapi.json", axum::routing::get(openapi::serve))
        .route("/returned", axum::routing::get(returned))
        // Public files: any page may load them.
        .nest("/widget", assets::router(&settings.widget_dir).layer(cors(AllowOrigin::from(Any))))
        .fallback(errors::unknown_route)
        .layer(axum::middleware::from_fn(detached))
        .layer(DefaultBodyLimit::max(64 * 1024));
    let metrics = state.checkouts.metrics().clone();
    with_security_headers(with_limits(router, &settings.http), https)
        // Outside every other layer but the counting: whatever answered an error, it is JSON.
        .layer(axum::middleware::from_fn(errors::json_errors))
        .layer(axum::middleware::from_fn_with_state(metrics, count_request))
        .layer(TraceLayer::new_for_http().make_span_with(
            // The route's pattern, not the path: paths carry secret tokens (MyPVit's callback
            // path) and the SSE query carries the client secret.
            |req: &Request<_>| {
                let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
                tracing::info_span!("http", method = %req.method(), route = %route)
            },
        ))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            HeaderName::from_static(crate::providers::novasend::SIGNATURE_HEADER),
            HeaderName::from_static(crate::providers::caurisflux::SIGNATURE_HEADER),
            HeaderName::from_static(crate::providers::caurisflux::LEGACY_SIGNATURE_HEADER),
            HeaderName::from_static(crate::providers::scalapay::wire::SIGNATURE_HEADER),
        ]))
        .with_state(state)
}

/// Counts every answer by route pattern (never the path: it carries ids and tokens), method
/// and status, the limits' 503s and the 404s of unknown paths (`unmatched`) included.
async fn count_request(
    axum::extract::State(metrics): axum::extract::State<crate::metrics::Metrics>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let response = next.run(req).await;
    metrics.http_request(route.as_deref().unwrap_or("unmatched"), &method, response.status().as_u16());
    response
}

/// `Access-Control-Allow-Origin` of the public API: only `origins`, none when it is empty.
fn shop_origins(origins: &[Origin]) -> AllowOrigin {
    // An origin is a valid header value by construction (ASCII, no control character).
    AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o.as_str()).ok()))
}

/// `Retry-After` of a request shed or timed out.
const BUSY_RETRY_AFTER_S: u32 = 1;

/// `router` under the request caps of `http`: load shedding over a global concurrency limit, a
/// timeout to the response head, and a timeout between the pieces of a request body; the shed
/// and timed-out requests answered with the API's JSON error.
fn with_limits<S: Clone + Send + Sync + 'static>(router: Router<S>, http: &HttpSettings) -> Router<S> {
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|e: BoxError| async move { busy(&e) }))
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(http.max_concurrent_requests.get()))
            .timeout(http.request_timeout())
            .layer(RequestBodyTimeoutLayer::new(http.body_read_timeout()))
            .map_request(|req: Request<tower_http::timeout::TimeoutBody<axum::body::Body>>| {
                req.map(axum::body::Body::new)
            }),
    )
}

/// The answer to a request the [`with_limits`] stopped.
fn busy(e: &BoxError) -> AppError {
    if e.is::<tower::load_shed::error::Overloaded>() {
        AppError::Unavailable { reason: "the verifier is busy", retry_after_s: BUSY_RETRY_AFTER_S }
    } else if e.is::<tower::timeout::error::Elapsed>() {
        AppError::Unavailable { reason: "the request took too long", retry_after_s: BUSY_RETRY_AFTER_S }
    } else {
        AppError::Internal(anyhow::anyhow!("request limits: {e}"))
    }
}

/// The CSP of every response that sets none: nothing loaded, nothing framing it; inline style
/// attributes only (the `/returned` page's).
pub const DEFAULT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";
/// `Strict-Transport-Security` over HTTPS: a year.
pub const HSTS: &str = "max-age=31536000";

/// `router` with the headers every response carries unless its route set its own (see the
/// module doc).
fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>, https: bool) -> Router<S> {
    let fixed = |name, value| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value));
    let router = router
        .layer(fixed(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(fixed(header::REFERRER_POLICY, "no-referrer"))
        .layer(fixed(header::CONTENT_SECURITY_POLICY, DEFAULT_CSP));
    if https { router.layer(fixed(header::STRICT_TRANSPORT_SECURITY, HSTS)) } else { router }
}

/// Runs the rest of the request (extractors, handler) in a task of its own and waits for it.
/// When the client hangs up, hyper drops this future, but the task runs to its end: a handler
/// is never cancelled between a transaction's `BEGIN` and its `COMMIT`. A pooled SQLite
/// connection whose transaction was dropped half-way poisoned the pool (every later write
/// failed with "attempted to call begin_with at non-zero transaction depth";
/// `tests/e2e/hangups.rs`). The answer of a task that panicked is a plain 500.
async fn detached(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    use tracing::Instrument;
    match tokio::spawn(next.run(req).in_current_span()).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a request's task failed");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Where customers land after a provider's page when the merchant gave no return URL.
async fn returned() -> axum::response::Html<&'static str> {
    axum::response::Html(
        "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>\
         <title>Paiement</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>\
         <p>Vous pouvez fermer cette page et revenir à la boutique : l'état du paiement s'y affiche.</p>\
         <p lang=en>You can close this page and go back to the shop, where the payment's status is shown.</p>",
    )
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Proof that the request carries the merchant's secret key.
#[derive(Debug)]
pub struct MerchantAuth;

impl FromRequestParts<AppState> for MerchantAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let presented = bearer(parts).ok_or(AppError::Unauthorized)?;
        match state.merchant_keys.authenticate(presented).await {
            Ok(true) => Ok(MerchantAuth),
            Ok(false) => Err(AppError::Unauthorized),
            Err(e) => Err(AppError::Internal(anyhow::Error::new(e).context("reading the merchant keys"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::HeaderMap, routing::get};
    use tower::ServiceExt;

    use super::*;

    async fn headers_of(router: Router, path: &str) -> HeaderMap {
        let request = Request::get(path).body(Body::empty()).unwrap();
        router.oneshot(request).await.unwrap().headers().clone()
    }

    fn pages() -> Router {
        Router::new()
            .route("/", get(|| async { "x" }))
            .route("/own", get(|| async { ([(header::CONTENT_SECURITY_POLICY, "default-src 'self'")], "y") }))
    }

    #[tokio::test]
    async fn hsts_only_over_https_and_a_route_keeps_its_own_policy() {
        let plain = headers_of(with_security_headers(pages(), false), "/").await;
        assert!(!plain.contains_key(header::STRICT_TRANSPORT_SECURITY), "{plain:?}");
        assert_eq!(plain[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(plain[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(plain[header::CONTENT_SECURITY_POLICY], DEFAULT_CSP);
        let https = headers_of(with_security_headers(pages(), true), "/").await;
        assert_eq!(https[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
        let own = headers_of(with_security_headers(pages(), true), "/own").await;
        assert_eq!(own[header::CONTENT_SECURITY_POLICY], "default-src 'self'");
        assert_eq!(own[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}
