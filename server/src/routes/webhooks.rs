//! Provider notifications: `POST /webhooks/{provider}`. The raw body is verified by the
//! provider's adapter before anything is read from it; a verified notification is stored in
//! the inbox and answered at once (the inbox worker applies it after); refused notifications
//! change nothing (they only make the verifier ask the provider for the status sooner). The
//! sender's address given to the adapter (MyPVit's allow-list) is the client address
//! ([`super::client_ip`]: `X-Forwarded-For` only from a trusted proxy). A refusal is answered
//! with the API's JSON error ([`AppError`]), as every other route's.

use std::net::IpAddr;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::HeaderMap,
    routing::post,
};
use serde_json::{Value, json};
use shared::method::Provider;

use super::{AppState, client_ip::ClientIp};
use crate::{
    checkouts::NoticeError,
    error::AppError,
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
) -> Result<Json<Value>, AppError> {
    handle(state, peer, provider, Some(token), headers, body).await
}

async fn receive(
    state: State<AppState>,
    ClientIp(peer): ClientIp,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    handle(state, peer, provider, None, headers, body).await
}

async fn handle(
    State(state): State<AppState>,
    peer: IpAddr,
    provider: String,
    token: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let Some(provider) = Provider::parse(&provider) else {
        return Err(AppError::NotFound);
    };
    let notice = IncomingNotice { headers: &headers, body: &body, peer, path_token: token.as_deref() };
    match state.checkouts.notify(provider, &notice).await {
        Ok(ack) => Ok(Json(ack.unwrap_or_else(|| json!({"received": true})))),
        // Not logged here: a flood would write a line each (`Checkouts::notify` logs one a
        // second per provider, with the count).
        Err(NoticeError::Rejected(WebhookError::BadSignature)) => Err(AppError::Unauthorized),
        Err(NoticeError::Rejected(WebhookError::Malformed(why))) => {
            Err(AppError::InvalidRequest { message: format!("malformed notification: {why}"), field: None })
        }
        Err(NoticeError::UnknownProvider) => Err(AppError::NotFound),
        Err(NoticeError::Store(e)) => {
            Err(AppError::Internal(anyhow::Error::new(e).context("storing a notification")))
        }
    }
}
