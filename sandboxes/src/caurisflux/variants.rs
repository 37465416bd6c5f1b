//! The error-body variants of [`super::VARIANTS`]: an API answer of 400 or more, written in
//! the NestJS shape by the routes, rewritten as the `variant` mode asks.

use axum::{
    body::Body,
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::Shared;

/// Reshapes error answers when an `error_*` variant applies to the request (its path and body).
pub(super) async fn error_shapes(State(inner): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let haystack = format!("{} {}", parts.uri, String::from_utf8_lossy(&bytes));
    let shape = ["error_code_only", "error_nest", "error_envelope"]
        .into_iter()
        .find(|name| inner.misbehave.variant(&haystack, name));
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let Some(shape) = shape.filter(|_| response.status().as_u16() >= 400) else { return response };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let nest: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let code = nest.get("error").and_then(Value::as_str).unwrap_or("INTERNAL_ERROR");
    let message = nest.get("message").cloned().unwrap_or(Value::Null);
    let reshaped = match shape {
        "error_code_only" => json!({"error": code}),
        "error_nest" => json!({"statusCode": parts.status.as_u16(), "message": message}),
        _ => json!({"success": false, "error": {"code": code, "message": message}}),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(reshaped.to_string()))
}
