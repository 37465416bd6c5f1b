//! HTTP routes, one module per surface, and the layers around them.
//!
//! Handlers are thin: they extract and authenticate, call one [`Checkouts`] method, and map
//! the result. Layers mark credential headers sensitive before tracing, log paths without
//! query strings (the SSE URL carries the client secret), open CORS on the public API and
//! widget assets only, and run every handler in a task of its own ([`detached`]), so that a
//! client hanging up can never stop one half-way through a database transaction.

use std::path::Path;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRequestParts, MatchedPath},
    http::{HeaderName, Method, Request, header, request::Parts},
};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tower_http::{
    cors::{Any, CorsLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    trace::TraceLayer,
};

use crate::{checkouts::Checkouts, error::AppError};

pub mod assets;
pub mod hosted;
pub mod merchant;
pub mod openapi;
pub mod public;
pub mod webhooks;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The payment service.
    pub checkouts: Checkouts,
    /// The merchant's API key.
    pub merchant_key: SecretString,
}

/// The whole HTTP surface.
pub fn router(state: AppState, widget_dir: &Path) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    Router::new()
        .merge(merchant::router(state.clone()))
        .merge(public::router().layer(cors.clone()))
        .merge(webhooks::router())
        .merge(hosted::router())
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/openapi.json", axum::routing::get(openapi::serve))
        .route("/returned", axum::routing::get(returned))
        .nest("/widget", assets::router(widget_dir).layer(cors))
        .layer(axum::middleware::from_fn(detached))
        .layer(DefaultBodyLimit::max(64 * 1024))
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
        let expected = state.merchant_key.expose_secret();
        if presented.as_bytes().ct_eq(expected.as_bytes()).into() {
            Ok(MerchantAuth)
        } else {
            Err(AppError::Unauthorized)
        }
    }
}
