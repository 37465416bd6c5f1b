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
//!
//! **Nothing replayable is stored in clear.** The database holds the key's SHA-256 (not the
//! key), and the stored response (a created checkout's client secret and hosted link among it)
//! sealed with ChaCha20-Poly1305 (RFC 8439, RustCrypto's `chacha20poly1305`) under a key
//! derived from the `Idempotency-Key` with HKDF-SHA256 (RFC 5869, `hkdf`): only a request
//! presenting the key can open it. Merchants should use random keys (UUIDs): the sealing is as
//! strong as the key is hard to guess.

use axum::{
    Json,
    body::{Body, to_bytes},
    extract::{FromRequestParts, MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use hkdf::Hkdf;
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
/// nothing more than once (a refund's id is derived from its `Idempotency-Key`: a second run
/// finds the same refund and asks the provider with the same reference).
const SAFE_TO_REPEAT: [&str; 3] =
    ["/v1/checkouts", "/v1/events/{id}/redeliver", "/v1/checkouts/{id}/refunds"];

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
    let sealing = Sealing::new(&key);
    let key = sealing.stored_key.clone();
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
        IdempotencyBegin::Done { status, body } => {
            let body = sealing.open(&body).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("a stored idempotent response does not open"))
            })?;
            return Ok(replay(status, body));
        }
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
    Ok(run_and_store(store, sealing, req, next).await)
}

async fn run_and_store(
    store: std::sync::Arc<dyn Store>,
    sealing: Sealing,
    req: Request,
    next: Next,
) -> Response {
    let key = sealing.stored_key.clone();
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
        store.idempotency_finish(&key, parts.status.as_u16(), &sealing.seal(&bytes), now_ms()).await
    };
    if let Err(e) = stored {
        // The response is still true; a retry finds the key in progress, then interrupted.
        tracing::error!(error = %e, "storing an idempotent response failed");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// How one `Idempotency-Key` is stored: its SHA-256 names the row, and a key derived from it
/// seals the response. Also seals MyPVit's shared key ([`Sealing::derived`]).
pub(crate) struct Sealing {
    /// Hex SHA-256 of the `Idempotency-Key`: the stored key; the associated data of what is
    /// sealed.
    stored_key: String,
    cipher: ChaCha20Poly1305,
}

/// HKDF's `info`: what the derived key is for (RFC 5869, section 3.2).
const SEALING_INFO: &[u8] = b"verifier idempotency response v1";
/// The nonce's length (RFC 8439: 96 bits), stored before the ciphertext.
const NONCE_LEN: usize = 12;

impl Sealing {
    fn new(idempotency_key: &str) -> Sealing {
        let stored_key = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
        Sealing::derived(idempotency_key.as_bytes(), SEALING_INFO, stored_key)
    }

    /// Seals under a key derived from `secret` with HKDF-SHA256 for the purpose `info`; what it
    /// seals opens only with the same `aad` (the row it belongs to).
    pub(crate) fn derived(secret: &[u8], info: &[u8], aad: String) -> Sealing {
        let mut okm = [0u8; 32];
        // `expand` fails only for an output longer than 255 hashes; 32 bytes is one.
        Hkdf::<Sha256>::new(None, secret)
            .expand(info, &mut okm)
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
        Sealing { stored_key: aad, cipher: ChaCha20Poly1305::new(&okm.into()) }
    }

    /// Nonce and ciphertext; the stored key is the associated data (a row's body opens only
    /// under its own key).
    pub(crate) fn seal(&self, body: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let payload = Payload { msg: body, aad: self.stored_key.as_bytes() };
        // Encryption fails only for a message over 256 GiB; bodies are a few KiB.
        let sealed = self.cipher.encrypt(Nonce::from_slice(&nonce), payload).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// What [`Sealing::seal`] sealed, if it was sealed by this key for this row.
    pub(crate) fn open(&self, stored: &[u8]) -> Option<Vec<u8>> {
        if stored.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let payload = Payload { msg: sealed, aad: self.stored_key.as_bytes() };
        self.cipher.decrypt(Nonce::from_slice(nonce), payload).ok()
    }
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

    #[test]
    fn a_sealed_response_opens_only_with_its_key() {
        let body = br#"{"client_secret":"co_1_secret_abc"}"#;
        let sealing = Sealing::new("order-42");
        let stored = sealing.seal(body);
        assert!(!stored.windows(6).any(|w| w == b"secret"), "nothing in clear");
        assert_eq!(sealing.open(&stored).as_deref(), Some(&body[..]));
        assert_eq!(Sealing::new("order-43").open(&stored), None);
        assert_eq!(sealing.open(&stored[..5]), None);
        // printf %s order-42 | openssl dgst -sha256
        assert_eq!(sealing.stored_key, "3bf8b157c4238eefe5ae4a66eca81c6b887d4dcedb58dd674271859f4dc2edfd");
    }
}
