//! `Idempotency-Key` on the merchant API's POSTs: a retried request never acts twice.
//!
//! The first request with a key reserves it atomically (one `BEGIN IMMEDIATE` transaction),
//! runs, and its response (status and body) is stored; every later request with the same key
//! and the same method, path and body gets that response again with `Idempotent-Replayed:
//! true`, until the key is purged (`[retention] idempotency_keys_hours`, 48 by default, by
//! [`crate::retention`]). The same key with another method,
//! path or body is refused (422 `idempotency_key_reused`) and runs nothing; a request arriving
//! while the first still runs is refused (409 `idempotency_key_in_use`, `Retry-After`).
//!
//! - A client that hangs up does not interrupt the request between the work and the storing of
//!   its response: every request (this guard included) runs in a task of its own
//!   (`routes::detached`).
//! - A 5xx is not stored: the key is released and the merchant may retry.
//! - A reservation left in progress (the process died between the work and the stored response)
//!   is taken over by a retry after [`STALE_AFTER_MS`] only on routes that are safe to run
//!   again: creating a checkout (the merchant's reference is unique, so a second run creates
//!   nothing) and redelivering an event (re-queues the same event). On other routes (refunds) the
//!   retry gets 409 `idempotency_key_interrupted`: the merchant reads the refunds to see what
//!   happened, and never gets a second refund from a retry.
//!
//! The key is optional: a POST without one behaves as before.

use axum::{
    Json,
    body::{Body, to_bytes},
    extract::{FromRequestParts, MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use shared::api::{ApiError, ApiErrorBody, ApiErrorCode};

use crate::{
    checkouts::now_ms,
    error::AppError,
    routes::{AppState, MerchantAuth},
    store::{IdempotencyBegin, Store},
};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header marking a replayed response.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// After this, an in-progress reservation is taken to be interrupted: far longer than any
/// request (provider calls time out after 30 s at most).
pub const STALE_AFTER_MS: i64 = 120_000;
/// What `Retry-After` says to a request that met a running one.
const RETRY_AFTER_SECONDS: &str = "1";
/// The largest body read (the router's limit).
const BODY_LIMIT: usize = 64 * 1024;

/// Routes a retry may run again after an interruption, because running them twice does
/// nothing more than once.
const SAFE_TO_REPEAT: [&str; 2] = ["/v1/checkouts", "/v1/events/{id}/redeliver"];

/// The middleware; layer it on the merchant routes with `from_fn_with_state`.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != axum::http::Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    match guarded(state, req, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn guarded(state: AppState, req: Request, next: Next) -> Result<Response, AppError> {
    let (mut parts, body) = req.into_parts();
    let key = parts
        .headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| valid_key(k))
        .map(str::to_owned)
        .ok_or_else(|| {
            AppError::invalid(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} printable ASCII characters"),
            )
        })?;
    // Only the merchant reserves keys: an unauthenticated request touches nothing.
    MerchantAuth::from_request_parts(&mut parts, &state).await?;
    let bytes = to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| AppError::InvalidRequest { message: "the body is too large".into(), field: None })?;
    let route = parts.extensions.get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method_path = format!("{} {}", parts.method, parts.uri.path());
    let request_hash = hex::encode(Sha256::digest(&bytes));
    let store = state.checkouts.store().clone();
    let now = now_ms();
    let begun = store
        .idempotency_begin(
            &key,
            &method_path,
            &request_hash,
            now,
            now - STALE_AFTER_MS,
            SAFE_TO_REPEAT.contains(&route.as_str()),
        )
        .await?;
    match begun {
        IdempotencyBegin::Started => {}
        IdempotencyBegin::Done { status, body } => return Ok(replay(status, body)),
        IdempotencyBegin::InProgress => {
            let mut r = refuse(
                StatusCode::CONFLICT,
                ApiErrorCode::IdempotencyKeyInUse,
                "a request with this Idempotency-Key is still running; retry shortly",
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
            return Ok(r);
        }
        IdempotencyBegin::Interrupted => {
            return Ok(refuse(
                StatusCode::CONFLICT,
                ApiErrorCode::IdempotencyKeyInterrupted,
                "the first request with this Idempotency-Key was interrupted before it answered; read the \
                 resource to see what it did, then use a new key",
            ));
        }
        IdempotencyBegin::Mismatch => {
            return Ok(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                ApiErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used with another method, path or body",
            ));
        }
    }
    // Already in the request's own task (`routes::detached`): a hang-up does not stop it halfway.
    let req = Request::from_parts(parts, Body::from(bytes));
    Ok(run_and_store(store, key, req, next).await)
}

async fn run_and_store(store: std::sync::Arc<dyn Store>, key: String, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "reading a response to store it failed");
            if let Err(e) = store.idempotency_release(&key).await {
                tracing::error!(error = %e, "releasing an idempotency key failed");
            }
            return AppError::Internal(anyhow::anyhow!("unreadable response")).into_response();
        }
    };
    let stored = if parts.status.is_server_error() {
        store.idempotency_release(&key).await
    } else {
        store.idempotency_finish(&key, parts.status.as_u16(), &bytes, now_ms()).await
    };
    if let Err(e) = stored {
        // The response is still true; a retry finds the key in progress, then interrupted.
        tracing::error!(error = %e, "storing an idempotent response failed");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| (0x20..0x7f).contains(&b))
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    r
}

fn refuse(status: StatusCode, code: ApiErrorCode, message: &str) -> Response {
    let body = ApiError {
        error: ApiErrorBody { code, message: message.to_owned(), field: None, payment_error: None },
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_printable_ascii() {
        assert!(valid_key("order-42/attempt-1"));
        assert!(valid_key(&"k".repeat(MAX_KEY_LEN)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(MAX_KEY_LEN + 1)));
        assert!(!valid_key("tab\there"));
        assert!(!valid_key("é"));
    }
}
