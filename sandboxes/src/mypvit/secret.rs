//! Keys: `POST /v2/{code}/renew-secret` (https://docs.mypvit.pro/en/v2/api/renew-secret), the
//! key posted to the reception URL, and the sandbox's own view and revocation of the key.

use std::time::{Duration, Instant};

use axum::{
    Form, Json,
    extract::{Path, State, rejection::FormRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use super::{
    errors::*,
    wire::{RenewSecretForm, RenewSecretResponse, SecretDelivery},
    *,
};

pub(super) async fn renew_secret(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    form: Result<Form<RenewSecretForm>, FormRejection>,
) -> Response {
    let path = format!("/{code}/renew-secret");
    if code != inner.merchant.url_codes.renew_secret {
        return fail("API_NOT_FOUND", &path, None);
    }
    let form = match form {
        Ok(Form(f)) => f,
        Err(FormRejection::InvalidFormContentType(_)) => {
            return fail("HTTP_MEDIA_TYPE_NOT_SUPPORTED", &path, None);
        }
        Err(_) => return fail("UNREADABLE_REQUEST_BODY", &path, None),
    };
    let (Some(account), Some(reception), Some(password)) =
        (form.operation_account_code, form.reception_url_code, form.password)
    else {
        return missing("operationAccountCode, receptionUrlCode, password", &path);
    };
    let m = &inner.merchant;
    if account != m.operation_account_code {
        return fail("OPERATION_ACCOUNT_NOT_FOUND", &path, None);
    }
    if reception != m.reception_url_code {
        return fail("INVALID_SECRET_KEY_RECEPTION_URL_CODE", &path, None);
    }
    if password != m.password {
        let mut response = fail("AUTHENTICATION_FAILED", &path, None);
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    }
    // One renewal at a time: keys are made and delivered in order.
    let _one = inner.renewing.lock().await;
    let value = format!(
        "sk_test_{}-{}-{}-{}-{}",
        random_hex(8),
        random_hex(4),
        random_hex(4),
        random_hex(4),
        random_hex(12)
    );
    // Current before it is delivered, so that a caller who receives it can use it at once.
    let previous = lock(&inner).key.replace(Key {
        value: value.clone(),
        expires_at: Instant::now() + Duration::from_secs(inner.config.secret_ttl_s),
    });
    let delivery = SecretDelivery {
        operation_account_code: account,
        secret_key: value,
        expires_in: inner.config.secret_ttl_s,
    };
    let sent = inner.http.post(&m.reception_url).json(&delivery).send().await;
    match sent {
        Ok(r) if r.status().is_success() => {
            lock(&inner).renewals += 1;
            Json(RenewSecretResponse {
                status_code: "200".into(),
                message: "Secret key generated and sent successfully".into(),
                operation_account_code: None,
                secret: None,
                expires_in: None,
            })
            .into_response()
        }
        other => {
            tracing::warn!(status = ?other.as_ref().map(|r| r.status()).ok(), "sandbox key delivery refused");
            lock(&inner).key = previous;
            fail("SENDING_SECRET_ERROR", &path, None)
        }
    }
}

/// What `/_sandbox/secret` shows.
#[derive(Debug, Serialize, Deserialize)]
pub struct SecretState {
    /// Successful renewals.
    pub renewals: u64,
    /// Requests refused for a wrong or expired key.
    pub auth_refusals: u64,
    /// The key MyPVit accepts now.
    pub current_key: Option<String>,
}

pub(super) async fn secret_state(State(inner): State<Shared>) -> Json<SecretState> {
    let book = lock(&inner);
    Json(SecretState {
        renewals: book.renewals,
        auth_refusals: book.auth_refusals,
        current_key: book.key.as_ref().filter(|k| Instant::now() < k.expires_at).map(|k| k.value.clone()),
    })
}

pub(super) async fn revoke(State(inner): State<Shared>) -> StatusCode {
    lock(&inner).key = None;
    StatusCode::NO_CONTENT
}
