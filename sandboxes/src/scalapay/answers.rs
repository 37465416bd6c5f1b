//! How the Scalapay sandbox answers: the error envelope `{errorCode, errorId, message,
//! httpStatusCode}` (https://developers.scalapay.com/reference/messages-validation), the bare
//! `"Unauthorized"` 401, Bearer keys, and `Idempotency-Key` replays.

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;
use time::OffsetDateTime;

use super::{
    wire::{ErrorBody, ErrorMessage, FieldError, IDEMPOTENCY_HEADER, REPLAYED_HEADER, ValidationMessage},
    *,
};

pub(super) fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, Book> {
    // Each write to the book completes under the lock without awaiting, so a poisoned lock
    // holds consistent data.
    inner.book.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn stamp(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

pub(super) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(super) fn random(n: usize) -> String {
    crate::common::random_alphanumeric(n)
}

pub(super) fn new_token() -> String {
    random(10).to_uppercase()
}

pub(super) fn error_response(status: StatusCode, code: &str, message: Option<ErrorMessage>) -> Response {
    let body = ErrorBody {
        error_code: code.into(),
        error_id: format!("error-{}", random(13).to_lowercase()),
        message,
        http_status_code: status.as_u16(),
    };
    (status, Json(body)).into_response()
}

pub(super) fn text_error(status: StatusCode, code: &str, message: &str) -> Response {
    error_response(status, code, Some(ErrorMessage::Text(message.into())))
}

pub(super) fn validation_error(errors: Vec<FieldError>) -> Response {
    let message = ValidationMessage { status: 400, status_text: "Bad Request".into(), errors };
    error_response(StatusCode::BAD_REQUEST, "api_validationerror", Some(ErrorMessage::Validation(message)))
}

pub(super) fn field_error(path: &[&str], location: &str, message: String, kind: &str) -> FieldError {
    FieldError {
        field: path.iter().map(|s| (*s).to_owned()).collect(),
        location: location.into(),
        messages: vec![message],
        types: vec![kind.into()],
    }
}

pub(super) fn not_found(token: &str) -> Response {
    text_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_token", &format!("Order {token} not found."))
}

pub(super) fn precondition(message: String) -> Response {
    text_error(StatusCode::BAD_REQUEST, "pre_condition_failed", &message)
}

pub(super) fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|v| v.trim() == inner.merchant.api_key)
}

/// Scalapay's 401: the bare JSON string, not the error envelope.
pub(super) fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(Value::String("Unauthorized".into()))).into_response()
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub(super) fn json_body(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice::<Value>(body).map_err(|e| {
        Box::new(validation_error(vec![field_error(
            &[],
            "body",
            format!("\"value\" must be valid JSON: {e}"),
            "object.base",
        )]))
    })
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

/// The success answered before under `key` for this same request, or a refusal when the key
/// was used for another request.
pub(super) fn replayed(book: &Book, key: Option<&str>, route: &str, body: &Value) -> Option<Response> {
    let (first_route, first_body, reply) = book.replies.get(key?)?;
    if first_route != route || first_body != body {
        return Some(validation_error(vec![field_error(
            &[IDEMPOTENCY_HEADER],
            "header",
            "\"Idempotency-Key\" was already used for another request".into(),
            "any.invalid",
        )]));
    }
    let mut resp = (StatusCode::OK, Json(reply.clone())).into_response();
    resp.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    Some(resp)
}

pub(super) fn remember(book: &mut Book, key: Option<String>, route: String, body: Value, reply: &Value) {
    if let Some(key) = key {
        book.replies.insert(key, (route, body, reply.clone()));
    }
}
