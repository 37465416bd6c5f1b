//! One error shape on every route: the answers our handlers give are [`AppError`]s already;
//! the ones axum and tower-http give themselves are not (a path parameter that is not UTF-8,
//! a body over the size limit read as bytes, a method the path does not take, a path no route
//! has, a handler's task that panicked). [`json_errors`] rewrites those into the API's JSON
//! error ([`shared::api::ApiError`]), keeping their status and headers (`Allow` of a 405);
//! [`unknown_route`] is the router's fallback.
//!
//! An answer already JSON is left as it is, and so is an HTML page: the hosted payment page's
//! own "unknown checkout" page is for a customer's browser, not for an API client.

use axum::{
    Json,
    extract::Request,
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use shared::api::{ApiError, ApiErrorBody, ApiErrorCode};

use crate::error::AppError;

/// The most of a plain-text error body read to become the JSON error's message (axum's
/// rejections are one line).
const MESSAGE_BYTES: usize = 1024;

/// The router's fallback: a path no route has.
pub async fn unknown_route() -> AppError {
    AppError::NotFound
}

/// Rewrites an error answer (4xx, 5xx) that is neither JSON nor an HTML page into the API's
/// JSON error of the same status (see the module doc).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let kind = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if kind.starts_with("application/json") || kind.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MESSAGE_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let code = code_of(status);
    let message = match code {
        // The cause stays in the log.
        ApiErrorCode::Internal => {
            tracing::error!(status = status.as_u16(), cause = %text, "an error answered by the framework");
            "internal error".to_owned()
        }
        ApiErrorCode::MethodNotAllowed => {
            "this path does not take this method: the Allow header lists the ones it takes".to_owned()
        }
        ApiErrorCode::NotFound if text.is_empty() => "not found".to_owned(),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
        _ => text,
    };
    let body = ApiError { error: ApiErrorBody { code, message, field: None, payment_error: None } };
    let mut rewritten = (status, Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().append(name.clone(), value.clone());
        }
    }
    rewritten
}

/// The API's code of an error status.
fn code_of(status: StatusCode) -> ApiErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ApiErrorCode::Unauthorized,
        StatusCode::NOT_FOUND => ApiErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiErrorCode::MethodNotAllowed,
        StatusCode::CONFLICT => ApiErrorCode::Conflict,
        StatusCode::TOO_MANY_REQUESTS => ApiErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ApiErrorCode::Unavailable,
        s if s.is_server_error() => ApiErrorCode::Internal,
        // 400, 408, 413, 414, 415, 422 and the rest of the client's mistakes.
        _ => ApiErrorCode::InvalidRequest,
    }
}

#[cfg(test)]
mod tests {
    use axum::{
        Router,
        body::Body,
        extract::Path,
        http::HeaderValue,
        routing::{get, post},
    };
    use tower::ServiceExt;

    use super::*;

    /// A plain-text answer, as axum's rejections are.
    fn plain(status: StatusCode, text: &'static str) -> Response {
        let mut r = (status, Body::from(text)).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        r
    }

    fn app() -> Router {
        Router::new()
            .route("/items/{id}", get(|Path(id): Path<String>| async move { id }).post(|| async { "posted" }))
            .route(
                "/plain",
                get(|| async {
                    plain(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Failed to buffer the request body: length limit exceeded",
                    )
                }),
            )
            .route("/page", get(|| async { (StatusCode::NOT_FOUND, axum::response::Html("<p>no</p>")) }))
            .route("/own", get(|| async { AppError::Conflict("taken".into()) }))
            .route("/boom", get(|| async { plain(StatusCode::INTERNAL_SERVER_ERROR, "secret cause") }))
            .route("/upload", post(|body: axum::body::Bytes| async move { body.len().to_string() }))
            .layer(axum::extract::DefaultBodyLimit::max(16))
            .fallback(unknown_route)
            .layer(axum::middleware::from_fn(json_errors))
    }

    async fn call(
        method: &str,
        path: &str,
        body: &'static str,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let request = Request::builder().method(method).uri(path).body(Body::from(body)).unwrap();
        let response = app().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec())
    }

    async fn error(
        method: &str,
        path: &str,
        body: &'static str,
    ) -> (StatusCode, axum::http::HeaderMap, ApiErrorBody) {
        let (status, headers, bytes) = call(method, path, body).await;
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{method} {path}");
        let parsed: ApiError =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        (status, headers, parsed.error)
    }

    #[tokio::test]
    async fn the_frameworks_own_errors_become_the_api_error() {
        let (status, _, e) = error("GET", "/nothing/here", "").await;
        assert_eq!((status, e.code), (StatusCode::NOT_FOUND, ApiErrorCode::NotFound));
        let (status, headers, e) = error("DELETE", "/items/1", "").await;
        assert_eq!((status, e.code), (StatusCode::METHOD_NOT_ALLOWED, ApiErrorCode::MethodNotAllowed));
        let allow = headers[header::ALLOW].to_str().unwrap();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        // A path parameter that is not UTF-8: axum's rejection, in plain text, made JSON.
        let (status, _, e) = error("GET", "/items/%FF", "").await;
        assert_eq!((status, e.code), (StatusCode::BAD_REQUEST, ApiErrorCode::InvalidRequest));
        assert!(!e.message.is_empty());
        let (status, _, e) = error("POST", "/upload", "more than sixteen bytes of body").await;
        assert_eq!((status, e.code), (StatusCode::PAYLOAD_TOO_LARGE, ApiErrorCode::InvalidRequest));
        let (status, _, e) = error("GET", "/plain", "").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(e.message.contains("length limit"), "the framework's reason is kept: {e:?}");
        let (status, _, e) = error("GET", "/boom", "").await;
        assert_eq!(
            (status, e.code, e.message.as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, ApiErrorCode::Internal, "internal error")
        );
    }

    #[tokio::test]
    async fn json_answers_pages_and_successes_are_left_as_they_are() {
        let (status, _, e) = error("GET", "/own", "").await;
        assert_eq!(
            (status, e.code, e.message.as_str()),
            (StatusCode::CONFLICT, ApiErrorCode::Conflict, "taken")
        );
        let (status, headers, body) = call("GET", "/page", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert_eq!(body, b"<p>no</p>");
        let (status, _, body) = call("GET", "/items/7", "").await;
        assert_eq!((status, body.as_slice()), (StatusCode::OK, b"7".as_slice()));
    }
}
