//! MyPVit's error table and error shape (https://docs.mypvit.pro/en/intro/integration-guide,
//! "Codes d'erreur"), and the checks every API call starts with: the URL code and the
//! `X-Secret` key.

use std::time::Instant;

use axum::{
    Json,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

use super::{
    wire::{ErrorBody, SECRET_HEADER},
    *,
};

/// The integration document's error table: type, HTTP status, application code, message (first row of the
/// types listed twice).
pub const ERRORS: &[(&str, u16, u32, &str)] = &[
    ("SOMETHING_WENT_WRONG", 500, 500, "Something went wrong, please contact support"),
    ("INVALID_MERCHANT_IP_ADDRESS", 400, 1000, "The ip address is invalid for this merchant"),
    ("INVALID_ENVIRONMENT", 400, 1001, "Operation account and URL envrionment mismatch"),
    ("INVALID_CALLBACK_URL_CODE", 400, 1002, "This callback URL is invalid"),
    ("INVALID_REDIRECTION_URL_CODE", 400, 1003, "This redirection URL is invalid"),
    ("INVALID_FAILED_REDIRECTION_URL_CODE", 400, 1004, "This failed redirection URL is invalid"),
    ("CUSTOMER_PIN_NOT_SET", 400, 1005, "The pin of the customer is not set"),
    (
        "NULL_TRANSACTION_TYPE_IDENTIFIER",
        400,
        1006,
        "The transaction type identifier is missing in the request.",
    ),
    ("NULL_OPERATOR_IDENTIFIER", 400, 1007, "The operator identifier is missing in the request."),
    ("MISSING_REQUEST_HEADER", 400, 1008, "A required header is missing in the request."),
    ("INVALID_PHONE_NUMBER", 400, 1009, "The provided phone number is invalid."),
    (
        "UNREADABLE_REQUEST_BODY",
        400,
        1010,
        "The server cannot read or parse the request body, possibly due to invalid syntax.",
    ),
    ("INVALID_SECRET_KEY_RECEPTION_URL_CODE", 400, 1011, "This secret key reception URL is invalid"),
    ("MISSING_REQUEST_PARAM", 400, 1012, "Something went wrong, please contact support"),
    ("OPERATION_ACCOUNT_INSUFFICIENT_BALANCE", 402, 2000, "Insufficient balance for this transaction"),
    ("OPERATION_ACCOUNT_BALANCE_REACHED", 402, 2001, "The operation account balance limit has been reached."),
    ("MERCHANT_NOT_ACTIVE", 403, 3000, "This merchant is not active"),
    ("OPERATION_ACCOUNT_NOT_ACTIVE", 403, 3001, "This operation account is not active"),
    (
        "NOT_ALLOWED_OPERATION_ACCOUNT_TRANSACTION_TYPE",
        403,
        3002,
        "This transaction type is not allowed for this operation account",
    ),
    (
        "OPERATION_ACCOUNT_TRANSACTION_TYPE_NOT_ACTIVE",
        403,
        3003,
        "This transaction type is not active for this operation account",
    ),
    ("SERVICE_NOT_ACTIVE", 403, 3004, "This service is not active"),
    ("TRANSACTION_TYPE_NOT_ACTIVE", 403, 3005, "This transaction type is not active"),
    ("OPERATOR_NOT_ACTIVE", 403, 3006, "This operator is not active"),
    ("OPERATOR_SERVICE_NOT_ALLOWED", 403, 3007, "The service is not allowed for this operator"),
    ("OPERATOR_SERVICE_NOT_ACTIVE", 403, 3008, "The service is not active for this operator"),
    (
        "OPERATOR_TYPE_TRANSACTION_NOT_ACTIVE",
        403,
        3009,
        "The transaction type is not active for this operator",
    ),
    (
        "OPERATOR_TYPE_TRANSACTION_NOT_ALLOWED",
        403,
        3010,
        "The transaction type is not allowed for this operator",
    ),
    ("CALLBACK_URL_NOT_ACTIVE", 403, 3011, "This callback URL is not active"),
    ("REDIRECTION_URL_NOT_ACTIVE", 403, 3012, "This redirection URL is not active"),
    ("FAILED_REDIRECTION_URL_NOT_ACTIVE", 403, 3013, "This failed redirection URL is not active"),
    ("CUSTOMER_BLOCKED", 403, 3014, "This customer is blocked"),
    ("FORBIDDEN", 403, 3016, "The client is authenticated but does not have the necessary permissions."),
    (
        "OPERATOR_AND_OPERATION_ACCOUNT_MISMATCH",
        403,
        3017,
        "The operation account is not compatible with the given client account number",
    ),
    (
        "TRANSACTION_AMOUNT_TOO_LOW",
        403,
        3018,
        "The transaction amount is below the minimum allowed threshold",
    ),
    (
        "TRANSACTION_MAX_AMOUNT_EXCEDED",
        403,
        3019,
        "The transaction amount exceeds the maximum allowed threshold",
    ),
    ("SERVICE_NOT_SUPPORTED", 403, 3020, "Service not supported by this operation account"),
    ("SECRET_KEY_RECEPTION_URL_NOT_ACTIVE", 403, 3021, "The secret key reception URL is not active"),
    ("CUSTOMER_UNKNOWN", 403, 3023, "This customer is unknown"),
    ("AUTHENTICATION_FAILED", 403, 3100, "Authenication failed"),
    ("API_NOT_FOUND", 404, 4000, "API not found"),
    ("MERCHANT_NOT_FOUND", 404, 4001, "This merchant is not found"),
    ("OPERATION_ACCOUNT_NOT_FOUND", 404, 4002, "This operation account is not found"),
    ("SERVICE_NOT_FOUND", 404, 4003, "This service is not found"),
    ("TRANSACTION_TYPE_NOT_FOUND", 404, 4004, "This transaction type is not found"),
    ("OPERATOR_NOT_FOUND", 404, 4005, "This operator is not found"),
    ("TRANSACTION_NOT_FOUND", 404, 4006, "The transaction is not found"),
    ("UNKNOWN_CUSTOMER", 404, 4007, "This customer is unknown"),
    ("REPATRIATION_ACCOUNT_NOT_FOUND", 404, 4008, "The repatriation account could not be found."),
    ("REPATRIATION_ACCOUNT_NOT_ACTIVE", 403, 4009, "This repatriation account is not active"),
    ("TRANSACTION_REFERENCE_ALREADY_EXISTS", 409, 5000, "The reference [] already exists"),
    ("AMBIGUOUS_TRANSACTION", 409, 5001, "The transaction is ambiguous"),
    ("TRANSACTION_LINK_USED", 409, 5002, "This transaction has been used"),
    ("TRANSACTION_EXPIRED", 410, 6000, "This transaction has expired"),
    (
        "HTTP_MEDIA_TYPE_NOT_SUPPORTED",
        415,
        7000,
        "The server does not support the media format of the request.",
    ),
    (
        "CONSTRAINT_VIOLATION",
        422,
        8000,
        "The request contains data that violates database or application constraints.",
    ),
    ("FEES_SCHEDULE_NOT_IMPLEMENTED", 501, 9000, "Fees schedule is not implemented for this amount"),
    (
        "OPERATOR_FEATURE_NOT_IMPLEMENTED",
        501,
        9001,
        "The requested feature for the operator is not implemented in the system.",
    ),
    ("FEES_SCHEDULE_NOT_ACTIVE", 502, 9002, "Fees schedule is not active"),
    ("API_MAINTENANCE_MODE", 503, 10000, "API in maintenance mode"),
    (
        "UNAVAILABLE_SERVICE",
        503,
        10001,
        "The requested service is currently unavailable, possibly due to maintenance.",
    ),
    ("SENDING_SECRET_ERROR", 503, 10008, "Error on sending secret key. Please retry or contact support"),
];

/// The table's second rows of the two types it lists twice, which the `refuse` mode reaches by
/// their application code.
pub const SECOND_ROWS: &[(&str, u16, u32)] =
    &[("CUSTOMER_PIN_NOT_SET", 403, 3022), ("NULL_TRANSACTION_TYPE_IDENTIFIER", 501, 5003)];

/// MyPVit's error response for a type of the table.
pub(super) fn fail(kind: &str, path: &str, message: Option<String>) -> Response {
    let (status, code, text) = ERRORS
        .iter()
        .find(|(t, ..)| *t == kind)
        .map_or((500, 500, "Something went wrong, please contact support"), |&(_, s, c, m)| (s, c, m));
    render(kind, status, code, message.unwrap_or_else(|| text.to_owned()), path)
}

/// The `refuse` mode's answer ([`crate::misbehave`]): `code` is a type of the table or its
/// application code (`"3022"` reaches the second `CUSTOMER_PIN_NOT_SET` row).
pub(super) fn refusal(code: &str, path: &str) -> Option<Response> {
    if let Some(&(kind, status, number, text)) =
        ERRORS.iter().find(|(t, _, c, _)| *t == code || c.to_string() == code)
    {
        return Some(render(kind, status, number, text.to_owned(), path));
    }
    let &(kind, status, number) = SECOND_ROWS.iter().find(|(_, _, c)| c.to_string() == code)?;
    let text = ERRORS.iter().find(|(t, ..)| *t == kind).map_or("", |&(.., m)| m);
    Some(render(kind, status, number, text.to_owned(), path))
}

fn render(kind: &str, status: u16, code: u32, message: String, path: &str) -> Response {
    let body = ErrorBody {
        date: now_with(time::macros::format_description!("[day][month][year]-[hour][minute][second]")),
        status_code: code.to_string(),
        error: kind.to_owned(),
        message,
        path: path.to_owned(),
    };
    // The document writes `status_code` as a number in errors.
    let mut json = serde_json::to_value(&body).unwrap_or_default();
    json["status_code"] = serde_json::json!(code);
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(json)).into_response()
}

pub(super) fn missing(param: &str, path: &str) -> Response {
    missing_param(param).respond(path)
}

/// A refusal in MyPVit's shape, written out with the request's path by [`Fault::respond`].
#[derive(Debug)]
pub(super) struct Fault {
    kind: &'static str,
    message: Option<String>,
    status: Option<StatusCode>,
}

impl Fault {
    pub(super) fn of(kind: &'static str) -> Fault {
        Fault { kind, message: None, status: None }
    }

    pub(super) fn saying(kind: &'static str, message: impl Into<String>) -> Fault {
        Fault { kind, message: Some(message.into()), status: None }
    }

    pub(super) fn respond(self, path: &str) -> Response {
        let mut response = fail(self.kind, path, self.message);
        if let Some(status) = self.status {
            *response.status_mut() = status;
        }
        response
    }
}

pub(super) fn missing_param(param: &str) -> Fault {
    Fault::saying("MISSING_REQUEST_PARAM", format!("Your request is missing a required param: '{param}'"))
}

/// The request fields of the document's `/rest` table ("Transaction REST API", "Paramètres
/// d'entrées"): its examples' `owner_charge_operator` and integrators' `operator_code` are not
/// among them.
pub const REST_FIELDS: &[&str] = &[
    "agent",
    "amount",
    "product",
    "reference",
    "service",
    "callback_url_code",
    "customer_account_number",
    "merchant_operation_account_code",
    "transaction_type",
    "owner_charge",
    "operator_owner_charge",
    "free_info",
];

/// The `/link` table's fields: the `/rest` table's and the two redirection codes.
pub const LINK_EXTRA_FIELDS: &[&str] = &["failed_redirection_url_code", "success_redirection_url_code"];

/// With [`SandboxConfig::strict_fields`], refuses a JSON body carrying a field its table does
/// not have, as `UNREADABLE_REQUEST_BODY` (what a server that maps its JSON strictly answers
/// for an unknown property; the document names no other code for it).
pub(super) fn table_fields_only(inner: &Inner, body: &[u8], link: bool) -> Result<(), Fault> {
    if !inner.config.strict_fields {
        return Ok(());
    }
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(());
    };
    let known = |k: &str| REST_FIELDS.contains(&k) || (link && LINK_EXTRA_FIELDS.contains(&k));
    match fields.keys().find(|k| !known(k)) {
        Some(unknown) => Err(Fault::saying(
            "UNREADABLE_REQUEST_BODY",
            format!("Unrecognized field \"{unknown}\": not a parameter of this API"),
        )),
        None => Ok(()),
    }
}

/// Checks the URL code and the `X-Secret` key.
pub(super) fn guard(inner: &Inner, headers: &HeaderMap, code: &str, expected: &str) -> Result<(), Fault> {
    if code != expected {
        return Err(Fault::of("API_NOT_FOUND"));
    }
    let Some(presented) = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok()) else {
        return Err(Fault::saying("MISSING_REQUEST_HEADER", "Missing request header 'X-Secret'"));
    };
    let mut book = lock(inner);
    let valid = book.key.as_ref().is_some_and(|k| k.value == presented && Instant::now() < k.expires_at);
    if !valid {
        book.auth_refusals += 1;
        drop(book);
        let status = StatusCode::from_u16(inner.config.authentication_failure_status)
            .unwrap_or(StatusCode::UNAUTHORIZED);
        return Err(Fault { status: Some(status), ..Fault::of("AUTHENTICATION_FAILED") });
    }
    Ok(())
}

/// Any other path: MyPVit's error body, 404 `API_NOT_FOUND` (the document's table).
pub(super) async fn unknown_route(uri: axum::http::Uri) -> Response {
    fail("API_NOT_FOUND", uri.path(), None)
}
