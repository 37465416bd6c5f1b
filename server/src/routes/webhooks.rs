//! Provider notifications: `POST /webhooks/{provider}`. The raw body is verified by the
//! provider's adapter before anything is read from it; refused notifications change nothing.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::{Value, json};
use shared::method::Provider;

use super::AppState;
use crate::{checkouts::NoticeError, providers::WebhookError};

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/{provider}", post(receive))
}

async fn receive(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let Some(provider) = Provider::parse(&provider) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "unknown provider"})));
    };
    match state.checkouts.notify(provider, &headers, &body).await {
        Ok(()) => (StatusCode::OK, Json(json!({"received": true}))),
        Err(NoticeError::Rejected(WebhookError::BadSignature)) => {
            tracing::warn!(provider = provider.as_str(), "notification with a bad signature refused");
            (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid signature"})))
        }
        Err(NoticeError::Rejected(WebhookError::Malformed(why))) => {
            (StatusCode::BAD_REQUEST, Json(json!({"error": format!("malformed: {why}")})))
        }
        // Acknowledged so that the provider stops retrying; kept in the notifications table.
        Err(NoticeError::UnknownPayment) => {
            (StatusCode::OK, Json(json!({"received": true, "ignored": "unknown payment"})))
        }
        Err(NoticeError::UnknownProvider) => {
            (StatusCode::NOT_FOUND, Json(json!({"error": "provider not configured"})))
        }
        Err(e) => {
            tracing::error!(error = %e, "processing a notification failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "internal error"})))
        }
    }
}
