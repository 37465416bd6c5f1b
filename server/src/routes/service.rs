//! The operator's routes: `GET /healthz` (the process answers; touches nothing),
//! `GET /readyz` (the database answers with every migration applied; each provider's latest
//! call, [`crate::readiness`]) on the main listener, for load balancers and orchestrators; and
//! `GET /metrics` (Prometheus text, [`crate::metrics`]) on `[metrics] listen`'s listener only,
//! never on the public one.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, header},
    response::IntoResponse,
    routing::get,
};
use serde_json::{Value, json};

use super::AppState;
use crate::{
    checkouts::Checkouts,
    error::AppError,
    metrics::Gauges,
    readiness::{self, NotReady, Readiness},
};

/// `Retry-After` of a verifier not ready: a probe's usual period.
const NOT_READY_RETRY_AFTER_S: u32 = 5;

/// `/healthz` and `/readyz`.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// Alive: answers without touching the database or a provider.
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready: 200 with the report, or 503 with the API's JSON error saying why.
async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, AppError> {
    match readiness::check(&state.checkouts, state.backend).await {
        Ok(ready) => Ok(Json(ready)),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Err(AppError::Unavailable {
                reason: match e {
                    NotReady::DatabaseUnreachable(_) => "the database does not answer",
                    NotReady::MigrationsPending(_) => "the database lacks migrations of this verifier",
                },
                retry_after_s: NOT_READY_RETRY_AFTER_S,
            })
        }
    }
}

/// The metrics listener's routes: `GET /metrics` only.
pub fn metrics_router(checkouts: Checkouts) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(checkouts)
}

/// The Prometheus text exposition, with the gauges read now (the pending deliveries within the
/// readiness deadline; otherwise the gauge keeps its last value).
async fn metrics(State(checkouts): State<Checkouts>) -> impl IntoResponse {
    let pending =
        tokio::time::timeout(readiness::DATABASE_DEADLINE, checkouts.store().deliveries_pending()).await;
    let deliveries_pending = match pending {
        Ok(Ok(n)) => Some(n),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "reading the pending deliveries for /metrics failed");
            None
        }
        Err(_) => None,
    };
    let gauges = Gauges { sse_streams_open: checkouts.events().subscribers(), deliveries_pending };
    (
        // https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))],
        checkouts.metrics().render(gauges),
    )
}
