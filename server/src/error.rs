//! The HTTP API's one error type and its JSON form.
//!
//! 4xx variants carry what the client needs to fix its request; 5xx variants wrap the cause,
//! which is logged and never sent. Every response body is [`shared::api::ApiError`].

use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Query, Request, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;
use shared::{
    api::{ApiError, ApiErrorBody, ApiErrorCode},
    catalogue::ErrorCode,
    phone::PhoneError,
};

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed or a field is invalid.
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
        /// The field at fault.
        field: Option<&'static str>,
    },
    /// 422: the phone number was refused.
    #[error("invalid phone number: {0}")]
    InvalidPhone(PhoneError),
    /// 401: missing or wrong key or client secret.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// 401: the client secret is right but its checkout expired more than
    /// [`crate::checkouts::CLIENT_SECRET_GRACE_S`] ago.
    #[error(
        "this checkout has expired and its client secret no longer opens it; the shop can start a new checkout"
    )]
    ClientSecretExpired,
    /// 404: no such resource.
    #[error("not found")]
    NotFound,
    /// 409: the resource's state forbids the request.
    #[error("{0}")]
    Conflict(String),
    /// 409: the checkout was created in the other mode (test or live) than this verifier's.
    #[error(
        "this checkout was created in {} mode and this verifier runs in {} mode: it can only be paid or refunded by a {0} verifier",
        mode_name(*.checkout_livemode), mode_name(!*.checkout_livemode)
    )]
    LivemodeMismatch {
        /// The checkout's `livemode`.
        checkout_livemode: bool,
    },
    /// 422: the method is not offered for this checkout.
    #[error("this payment method is not available for this checkout")]
    MethodUnavailable,
    /// 422 (400 for an invalid refund amount): a payment rule or the provider refused; the
    /// catalogue's code travels as `payment_error`.
    #[error("{reason}")]
    Refused {
        /// The catalogue's code.
        code: ErrorCode,
        /// Why, in words.
        reason: String,
    },
    /// 503 with `Retry-After`: the verifier is busy (load shed, a request over its time, an SSE
    /// cap); the message says which, nothing was done by this request's answer.
    #[error("{reason}; retry in {retry_after_s} s")]
    Unavailable {
        /// Why, in words.
        reason: &'static str,
        /// The `Retry-After` seconds.
        retry_after_s: u32,
    },
    /// 429: a rate limit refused the request (`routes::limits`), or too many payment requests
    /// went to this phone number lately; nothing was done. `Retry-After` says when to retry.
    #[error("too many requests: retry in {} s", .retry_after.as_secs())]
    RateLimited {
        /// When a retry can succeed.
        retry_after: std::time::Duration,
    },
    /// 422: a limit of this checkout is reached (`TOO_MANY_ATTEMPTS`, or
    /// `OTP_ATTEMPTS_EXHAUSTED` for the method asked); nothing was done, and retrying does not
    /// help.
    #[error("{}", .0.message(shared::locale::Locale::En))]
    LimitReached(ErrorCode),
    /// 500: our fault; details are logged, not sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 400 about one field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
        AppError::InvalidRequest { message: message.into(), field: Some(field) }
    }

    fn status_and_code(&self) -> (StatusCode, ApiErrorCode) {
        match self {
            AppError::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, ApiErrorCode::InvalidRequest),
            AppError::InvalidPhone(_) => (StatusCode::UNPROCESSABLE_ENTITY, ApiErrorCode::InvalidPhoneNumber),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, ApiErrorCode::Unauthorized),
            AppError::ClientSecretExpired => (StatusCode::UNAUTHORIZED, ApiErrorCode::ClientSecretExpired),
            AppError::NotFound => (StatusCode::NOT_FOUND, ApiErrorCode::NotFound),
            AppError::Conflict(_) => (StatusCode::CONFLICT, ApiErrorCode::Conflict),
            AppError::LivemodeMismatch { .. } => (StatusCode::CONFLICT, ApiErrorCode::LivemodeMismatch),
            AppError::MethodUnavailable => {
                (StatusCode::UNPROCESSABLE_ENTITY, ApiErrorCode::MethodUnavailable)
            }
            AppError::Refused { code: ErrorCode::InvalidRefundAmount, .. } => {
                (StatusCode::BAD_REQUEST, ApiErrorCode::InvalidRequest)
            }
            AppError::Refused { code: ErrorCode::RefundNotAllowed, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, ApiErrorCode::RefundNotAllowed)
            }
            AppError::Refused { .. } => (StatusCode::UNPROCESSABLE_ENTITY, ApiErrorCode::PaymentFailed),
            AppError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, ApiErrorCode::Unavailable),
            AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, ApiErrorCode::RateLimited),
            AppError::LimitReached(_) => (StatusCode::UNPROCESSABLE_ENTITY, ApiErrorCode::TooManyAttempts),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ApiErrorCode::Internal),
        }
    }
}

fn mode_name(livemode: bool) -> &'static str {
    if livemode { "live" } else { "test" }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Conflict(what) => AppError::Conflict(what),
            crate::store::StoreError::Rule(code) => AppError::Refused {
                code,
                reason: match code {
                    ErrorCode::RefundNotAllowed => {
                        "the checkout is not paid, or is already fully refunded".into()
                    }
                    ErrorCode::InvalidRefundAmount => {
                        "the amount is more than what is left to refund, or in another currency".into()
                    }
                    other => format!("refused: {}", other.as_str()),
                },
            },
            crate::store::StoreError::Other(e) => AppError::Internal(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let payment_error = match &self {
            AppError::Refused { code, .. } | AppError::LimitReached(code) => Some(*code),
            AppError::RateLimited { .. } => Some(ErrorCode::TooManyRequests),
            _ => None,
        };
        let retry_after = match &self {
            // Whole seconds, at least one.
            AppError::RateLimited { retry_after } => Some(retry_after.as_secs().max(1)),
            AppError::Unavailable { retry_after_s, .. } => Some(u64::from(*retry_after_s)),
            _ => None,
        };
        let (message, field) = match &self {
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                ("internal error".to_owned(), None)
            }
            AppError::InvalidRequest { message, field } => (message.clone(), field.map(str::to_owned)),
            AppError::InvalidPhone(_) => (self.to_string(), Some("phone".to_owned())),
            AppError::Refused { code: ErrorCode::InvalidRefundAmount, reason } => {
                (reason.clone(), Some("amount".to_owned()))
            }
            other => (other.to_string(), None),
        };
        let body = ApiError { error: ApiErrorBody { code, message, field, payment_error } };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// `Json<T>` whose rejections are [`AppError`]s with a JSON body, not axum's plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(AppJson(v)),
            Err(rejection) => Err(AppError::InvalidRequest {
                message: match &rejection {
                    JsonRejection::JsonDataError(e) => format!("invalid body: {}", e.body_text()),
                    other => other.body_text(),
                },
                field: None,
            }),
        }
    }
}

/// `Query<T>` whose rejections (an unknown or repeated parameter) are [`AppError`]s with a
/// JSON body, not axum's plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, AppError> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(v)) => Ok(AppQuery(v)),
            Err(rejection) => Err(AppError::InvalidRequest { message: rejection.body_text(), field: None }),
        }
    }
}
