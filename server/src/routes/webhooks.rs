//! Provider notifications: `POST /webhooks/{provider}`. The raw body is verified by the
//! provider's adapter before anything is read from it; a verified notification is stored in
//! the inbox and answered at once (the inbox worker applies it after); refused notifications
//! change nothing (they only make the verifier ask the provider for the status sooner). The
//! sender's address given to the adapter (MyPVit's allow-list) is the client address
//! ([`super::client_ip`]: `X-Forwarded-For` only from a trusted proxy).

use std::net::IpAddr;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::{Value, json};
use shared::method::Provider;

use super::{AppState, client_ip::ClientIp};
use crate::{
    checkouts::NoticeError,
    providers::{IncomingNotice, WebhookError},
};

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{provider}", post(receive))
        .route("/webhooks/{provider}/{token}", post(receive_with_token))
}

async fn receive_with_token(
    state: State<AppState>,
    ClientIp(peer): ClientIp,
    Path((provider, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    handle(state, peer, provider, Some(token), headers, body).await
}

async fn receive(
    state: State<AppState>,
    ClientIp(peer): ClientIp,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    handle(state, peer, provider, None, headers, body).await
}

async fn handle(
    State(state): State<AppState>,
    peer: IpAddr,
    provider: String,
    token: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let Some(provider) = Provider::parse(&provider) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "unknown provider"})));
    };
    let notice = IncomingNotice { headers: &headers, body: &body, peer, path_token: token.as_deref() };
    match state.checkouts.notify(provider, &notice).await {
        Ok(ack) => (StatusCode::OK, Json(ack.unwrap_or_else(|| json!({"received": true})))),
        // Not logged here: a flood would write a line each (`Checkouts::notify` logs one a
        // second per provider, with the count).
        Err(NoticeError::Rejected(WebhookError::BadSignature)) => {
            (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid signature"})))
        }
        Err(NoticeError::Rejected(WebhookError::Malformed(why))) => {
            (StatusCode::BAD_REQUEST, Json(json!({"error": format!("malformed: {why}")})))
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
