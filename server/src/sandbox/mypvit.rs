//! The MyPVit sandbox: the v5.5 document's APIs under their URL codes
//! (`POST /{code}/renew-secret`, `POST /{code}/rest`, `POST /{code}/link`,
//! `GET /{code}/status`, `GET /{code}/balance`, `GET /{code}/kyc`), the payment-link pages
//! (`/transaction-link/{token}/payment`), `X-Secret` keys that expire and are delivered to the
//! merchant's secret-reception URL, unsigned callbacks whose acknowledgement is checked, and the
//! seed's error body and code table. `/_sandbox/misbehave` makes it misbehave
//! ([`super::misbehave`]; its out-of-order callback is a PENDING one after the final one, and a
//! "bad signature" callback goes to a wrong secret path, MyPVit signing nothing).
//!
//! **Test rule (the seed's, for its test operation account):** a transaction of **at most
//! 1000 XAF succeeds, above 1000 XAF it fails**. PAYMENT answers PENDING; after
//! `confirm_delay_ms` (the customer answering the push prompt) it becomes SUCCESS or FAILED by
//! that rule, and the callback is sent. GIVE_CHANGE answers SUCCESS or FAILED at once by the
//! same rule. Amounts of 150 XAF or less are refused (`TRANSACTION_AMOUNT_TOO_LOW`, the
//! document's "Supérieur à 150").
//!
//! **Test numbers** (our choice; MyPVit publishes none). They stop a request before any
//! transaction exists, so the amount rule above holds for every transaction made:
//!
//! | number      | what happens                                                            |
//! |-------------|-------------------------------------------------------------------------|
//! | `077000090` | `/rest` and `/link`: 403 `CUSTOMER_BLOCKED`; `/kyc`: `is_active: false` |
//! | `066000091` | `/rest` and `/link`: 400 `CUSTOMER_PIN_NOT_SET`                          |
//! | `074000092` | `/rest`, `/link` and `/kyc`: 404 `UNKNOWN_CUSTOMER`                      |
//! | `077000001` | `/kyc`: "Aïcha Nguema"                                                   |
//! | `066000001` | `/kyc`: "Paul Ondo"                                                      |
//! | any other Airtel (074, 076, 077) or Moov (062, 065, 066) number | the amount rule; `/kyc`: "Client Sandbox" |
//!
//! Choices where the document is silent or contradicts itself:
//! - **Keys.** `renew-secret` generates a key, makes it current (the previous one obsolete),
//!   POSTs `{operation_account_code, secret_key, expires_in}` to the registered reception URL,
//!   and answers `{"status_code": "200", "message": "Secret key generated and sent
//!   successfully"}`. If the delivery is not answered 2xx, the previous key stays current and
//!   the answer is 503 `SENDING_SECRET_ERROR`. Renewals are handled one at a time, so keys are
//!   delivered in the order they were made. Keys live `secret_ttl_s` seconds (3600 in the
//!   document). A missing `X-Secret` is 400 `MISSING_REQUEST_HEADER`; a wrong or expired one
//!   401 `AUTHENTICATION_FAILED` (the renew-secret page of the v2 docs says 401; the seed's
//!   table gives the same type 403). A wrong renewal password is 401 `AUTHENTICATION_FAILED`.
//! - **Errors** use the table's HTTP status and code; for the two types listed twice, the
//!   first row (`CUSTOMER_PIN_NOT_SET` 400/1005, `NULL_TRANSACTION_TYPE_IDENTIFIER` 400/1006).
//!   A URL code that is not the API's: 404 `API_NOT_FOUND`. A missing field:
//!   400 `MISSING_REQUEST_PARAM` naming it (`transaction_type`:
//!   `NULL_TRANSACTION_TYPE_IDENTIFIER`); a field of the wrong type or value, or a text over its
//!   length (reference, agent, product, free_info 15; number 20): 422 `CONSTRAINT_VIOLATION`.
//!   Bodies are JSON only (the document also allows XML): others are 415
//!   `HTTP_MEDIA_TYPE_NOT_SUPPORTED`.
//! - **Numbers** start with `0` (9 digits) or `241` (11 digits), as `/kyc` documents; the
//!   operator is the number's. An `operator_code` sent (integrators do) must be that operator:
//!   otherwise 400 `INVALID_PHONE_NUMBER`, or 404 `OPERATOR_NOT_FOUND` for an unlisted one.
//! - **Ids:** `PAY`/`GCH` + `ddMMyy` + a 6-digit counter, as in the document's examples. Status
//!   is found by that id or by the merchant's reference, with the matching
//!   `transactionOperation`.
//! - **Fees:** 2.5 % rounded up (the document's callback shows 5 on 200), paid by
//!   `owner_charge`. The operation account opens with 5 000 XAF (an integrator's note on the test
//!   account): a successful PAYMENT adds the amount (less fees the merchant pays), a GIVE_CHANGE
//!   takes the amount (and fees the merchant pays); 402
//!   `OPERATION_ACCOUNT_INSUFFICIENT_BALANCE` when it cannot.
//! - **Callbacks** are JSON, `code` 200 for SUCCESS and 400 for FAILED. The answer must be
//!   `{"transactionId", "responseCode"}` echoing them; otherwise the callback is sent again,
//!   three times in all. `/_sandbox/transactions` shows whether it was acknowledged.
//! - **Links:** `{base}/transaction-link/{token}/payment`, the token being the base64 of the
//!   account, date and counter as in the document's example. WEB and VISA_MASTERCARD show a
//!   page whose button pays by the amount rule and redirects to the registered success or
//!   failure URL; RESTLINK pushes the prompt when opened (then settles after the delay). Both
//!   redirection codes are required for WEB and VISA_MASTERCARD, not for RESTLINK (the
//!   document's RESTLINK example has none); `transaction_type` must be PAYMENT, or GIVE_CHANGE
//!   for RESTLINK (the document's example). A used link is 409 `TRANSACTION_LINK_USED`; an
//!   unused one fails after `link_expire_after_ms` and is then 410 `TRANSACTION_EXPIRED`.
//! - **Sandbox only:** `GET /_sandbox/transactions` lists transactions; `GET /_sandbox/secret`
//!   shows the renewal count, the refused keys count and the current key;
//!   `POST /_sandbox/secret/revoke` makes the current key obsolete (as if renewed elsewhere).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Form, Json, Router,
    body::Bytes,
    extract::{Path, Query, State, rejection::FormRejection, rejection::QueryRejection},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::Engine;
use serde::{Deserialize, Serialize};
use shared::phone::{Country, Network, PhoneNumber};
use tokio::net::TcpListener;

use crate::providers::mypvit::{
    SECRET_HEADER, Settings, UrlCodes,
    wire::{
        Amount, BalanceQuery, BalanceResponse, Callback, CallbackAck, ChargeOwner, ErrorBody, KycQuery,
        KycResponse, LinkRequest, LinkResponse, LinkService, Operator, RenewSecretForm, RenewSecretResponse,
        RestRequest, RestResponse, SecretDelivery, StatusQuery, StatusResponse, TransactionStatus,
        TransactionType,
    },
};

/// How the sandbox runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// Where it listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How long a test customer takes to answer the push prompt.
    pub confirm_delay_ms: u64,
    /// How long a key lives (3600 in the document).
    pub secret_ttl_s: u64,
    /// How long an unused payment link stays usable.
    pub link_expire_after_ms: u64,
    /// Where callbacks go instead of the registered callback URL (keys still go to the
    /// reception URL).
    #[serde(default)]
    pub callback_url: Option<String>,
}

/// The merchant's account as set up in MyPVit's space: codes, password and registered URLs.
#[derive(Clone)]
pub struct Merchant {
    /// The operation account.
    pub operation_account_code: String,
    /// The renewal password.
    pub password: String,
    /// Each API's URL code.
    pub url_codes: UrlCodes,
    /// The secret-reception URL's code.
    pub reception_url_code: String,
    /// The callback URL's code.
    pub callback_url_code: String,
    /// The success redirection URL's code.
    pub success_redirection_url_code: Option<String>,
    /// The failure redirection URL's code.
    pub failed_redirection_url_code: Option<String>,
    /// The registered secret-reception URL.
    pub reception_url: String,
    /// The registered callback URL.
    pub callback_url: String,
    /// The registered success redirection URL.
    pub success_url: String,
    /// The registered failure redirection URL.
    pub failed_url: String,
}

impl std::fmt::Debug for Merchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("operation_account_code", &self.operation_account_code)
            .field("password", &"[REDACTED]")
            .field("url_codes", &self.url_codes)
            .finish_non_exhaustive()
    }
}

impl Merchant {
    /// The account of `verifier sandbox mypvit`: URL codes `SBXRENEW`, `SBXREST`, `SBXLINK`,
    /// `SBXSTATUS`, `SBXBALANCE`, `SBXKYC`; reception code `SBXRC`, callback code `SBXCB`,
    /// redirection codes `SBXOK` / `SBXKO`; keys and callbacks go to `webhook_url`, both
    /// redirections to `http://127.0.0.1:8080/healthz`.
    pub fn standalone(operation_account_code: String, password: String, webhook_url: String) -> Merchant {
        Merchant {
            operation_account_code,
            password,
            url_codes: UrlCodes {
                renew_secret: "SBXRENEW".into(),
                rest: "SBXREST".into(),
                link: "SBXLINK".into(),
                status: "SBXSTATUS".into(),
                balance: "SBXBALANCE".into(),
                kyc: "SBXKYC".into(),
            },
            reception_url_code: "SBXRC".into(),
            callback_url_code: "SBXCB".into(),
            success_redirection_url_code: Some("SBXOK".into()),
            failed_redirection_url_code: Some("SBXKO".into()),
            reception_url: webhook_url.clone(),
            callback_url: webhook_url,
            success_url: "http://127.0.0.1:8080/healthz".into(),
            failed_url: "http://127.0.0.1:8080/healthz".into(),
        }
    }

    /// The account an adapter's settings describe, with `webhook_url` registered for both
    /// callbacks and keys, and `return_url` for both redirections.
    pub fn from_settings(s: &Settings, webhook_url: &str, return_url: &str) -> Merchant {
        use secrecy::ExposeSecret;
        Merchant {
            operation_account_code: s.operation_account_code.clone(),
            password: s.password.expose_secret().to_owned(),
            url_codes: s.url_codes.clone(),
            reception_url_code: s.reception_url_code.clone(),
            callback_url_code: s.callback_url_code.clone(),
            success_redirection_url_code: s.success_redirection_url_code.clone(),
            failed_redirection_url_code: s.failed_redirection_url_code.clone(),
            reception_url: webhook_url.to_owned(),
            callback_url: webhook_url.to_owned(),
            success_url: return_url.to_owned(),
            failed_url: return_url.to_owned(),
        }
    }
}

/// What a documented test number does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Refused: `CUSTOMER_BLOCKED`; KYC inactive.
    Blocked,
    /// Refused: `CUSTOMER_PIN_NOT_SET`.
    PinNotSet,
    /// Refused: `UNKNOWN_CUSTOMER`, also by KYC.
    Unknown,
    /// KYC gives this name; payments follow the amount rule.
    Named(&'static str),
}

impl Trigger {
    /// What it means, for `verifier test-numbers`.
    pub fn describe(self) -> String {
        match self {
            Trigger::Blocked => "refused at once: CUSTOMER_BLOCKED (KYC: inactive)".into(),
            Trigger::PinNotSet => "refused at once: CUSTOMER_PIN_NOT_SET".into(),
            Trigger::Unknown => "refused at once: UNKNOWN_CUSTOMER (KYC: not found)".into(),
            Trigger::Named(n) => format!("KYC name \"{n}\"; the amount rule applies"),
        }
    }
}

/// A documented test number.
#[derive(Debug, Clone, Copy)]
pub struct TestNumber {
    /// As MyPVit writes it (`0` + 8 digits).
    pub number: &'static str,
    /// What it does.
    pub trigger: Trigger,
}

/// The documented test numbers.
pub const TEST_NUMBERS: &[TestNumber] = &[
    TestNumber { number: "077000090", trigger: Trigger::Blocked },
    TestNumber { number: "066000091", trigger: Trigger::PinNotSet },
    TestNumber { number: "074000092", trigger: Trigger::Unknown },
    TestNumber { number: "077000001", trigger: Trigger::Named("Aïcha Nguema") },
    TestNumber { number: "066000001", trigger: Trigger::Named("Paul Ondo") },
];

/// The seed's test rule, for `verifier test-numbers`.
pub const AMOUNT_RULE: &str = "any other Airtel/Moov number: up to 1000 XAF succeeds, above 1000 XAF fails";

/// The largest amount that succeeds (the seed's test rule).
pub const MAX_SUCCEEDING_AMOUNT: u64 = 1000;

/// The operation account's opening balance.
pub const OPENING_BALANCE: u64 = 5000;

/// The seed's error table: type, HTTP status, application code, message (first row of the
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

/// A transaction, as the sandbox keeps it (and lists it at `/_sandbox/transactions`).
#[derive(Debug, Clone, Serialize)]
pub struct Transaction {
    /// `PAY…` or `GCH…`.
    pub reference_id: String,
    /// The merchant's reference.
    pub merchant_reference_id: String,
    /// PAYMENT or GIVE_CHANGE.
    pub kind: TransactionType,
    /// Its state.
    pub status: TransactionStatus,
    /// Francs.
    pub amount: u64,
    /// Francs.
    pub fees: u64,
    /// Who pays the fees.
    pub owner_charge: ChargeOwner,
    /// The operator (`None` for card links).
    pub operator: Option<Operator>,
    /// The customer's number, as sent.
    pub customer_account_number: String,
    /// The free text sent.
    pub free_info: Option<String>,
    /// `dd/MM/yyyy HH:mm:ss`.
    pub date: String,
    /// The link's service and token, for link payments.
    pub link: Option<(LinkService, String)>,
    /// Whether the link was opened and used.
    pub link_used: bool,
    /// How many times the callback was sent.
    pub callback_attempts: u32,
    /// Whether the merchant answered the callback as the document requires.
    pub callback_acknowledged: bool,
}

#[derive(Debug)]
struct Key {
    value: String,
    expires_at: Instant,
}

#[derive(Debug)]
struct Book {
    key: Option<Key>,
    renewals: u64,
    auth_refusals: u64,
    balance: u64,
    counter: u64,
    transactions: HashMap<String, Transaction>,
    by_reference: HashMap<String, String>,
    links: HashMap<String, String>,
}

#[derive(Debug)]
struct Inner {
    merchant: Merchant,
    config: SandboxConfig,
    base_url: String,
    book: Mutex<Book>,
    /// Held by the one renewal in progress.
    renewing: tokio::sync::Mutex<()>,
    http: reqwest::Client,
    misbehave: Arc<super::common::Misbehaviours>,
}

type Shared = Arc<Inner>;

/// A running sandbox.
#[derive(Debug)]
pub struct MyPvitSandbox {
    addr: SocketAddr,
}

impl MyPvitSandbox {
    /// Binds the listener and serves in the background.
    pub async fn start(config: SandboxConfig, mut merchant: Merchant) -> anyhow::Result<MyPvitSandbox> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        if let Some(url) = &config.callback_url {
            merchant.callback_url = url.clone();
        }
        let inner = Arc::new(Inner {
            merchant,
            config,
            base_url: format!("http://{addr}"),
            book: Mutex::new(Book {
                key: None,
                renewals: 0,
                auth_refusals: 0,
                balance: OPENING_BALANCE,
                counter: 0,
                transactions: HashMap::new(),
                by_reference: HashMap::new(),
                links: HashMap::new(),
            }),
            renewing: tokio::sync::Mutex::new(()),
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
            misbehave: Arc::default(),
        });
        let app = router(inner);
        super::common::serve(listener, app, "MyPVit");
        Ok(MyPvitSandbox { addr })
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn router(inner: Shared) -> Router {
    let faults = axum::middleware::from_fn_with_state(inner.misbehave.clone(), super::common::api_faults);
    Router::new()
        .route("/{code}/rest", post(rest))
        .route("/{code}/link", post(link))
        .route("/{code}/status", get(status))
        .route("/{code}/balance", get(balance))
        .route("/{code}/kyc", get(kyc))
        .route_layer(faults)
        .merge(super::common::admin_routes(inner.misbehave.clone()))
        // Key renewal stays up: a misbehaving payment API is what the modes simulate.
        .route("/{code}/renew-secret", post(renew_secret))
        .route("/transaction-link/{token}/payment", get(open_link).post(pay_link))
        .route("/_sandbox/transactions", get(list))
        .route("/_sandbox/secret", get(secret_state))
        .route("/_sandbox/secret/revoke", post(revoke))
        .with_state(inner)
}

fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, Book> {
    // Every write leaves the book consistent before the next statement, so a poisoned lock is
    // still usable.
    inner.book.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_with(format: &[time::format_description::FormatItem<'_>]) -> String {
    time::OffsetDateTime::now_utc().format(format).unwrap_or_default()
}

/// MyPVit's error response for a type of the table.
fn fail(kind: &str, path: &str, message: Option<String>) -> Response {
    let (status, code, text) = ERRORS
        .iter()
        .find(|(t, ..)| *t == kind)
        .map_or((500, 500, "Something went wrong, please contact support"), |&(_, s, c, m)| (s, c, m));
    let body = ErrorBody {
        date: now_with(time::macros::format_description!("[day][month][year]-[hour][minute][second]")),
        status_code: code.to_string(),
        error: kind.to_owned(),
        message: message.unwrap_or_else(|| text.to_owned()),
        path: path.to_owned(),
    };
    // The document writes `status_code` as a number in errors.
    let mut json = serde_json::to_value(&body).unwrap_or_default();
    json["status_code"] = serde_json::json!(code);
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(json)).into_response()
}

fn missing(param: &str, path: &str) -> Response {
    missing_param(param).respond(path)
}

/// A refusal in MyPVit's shape, written out with the request's path by [`Fault::respond`].
#[derive(Debug)]
struct Fault {
    kind: &'static str,
    message: Option<String>,
    status: Option<StatusCode>,
}

impl Fault {
    fn of(kind: &'static str) -> Fault {
        Fault { kind, message: None, status: None }
    }

    fn saying(kind: &'static str, message: impl Into<String>) -> Fault {
        Fault { kind, message: Some(message.into()), status: None }
    }

    fn respond(self, path: &str) -> Response {
        let mut response = fail(self.kind, path, self.message);
        if let Some(status) = self.status {
            *response.status_mut() = status;
        }
        response
    }
}

fn missing_param(param: &str) -> Fault {
    Fault::saying("MISSING_REQUEST_PARAM", format!("Your request is missing a required param: '{param}'"))
}

/// Checks the URL code and the `X-Secret` key.
fn guard(inner: &Inner, headers: &HeaderMap, code: &str, expected: &str) -> Result<(), Fault> {
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
        return Err(Fault { status: Some(StatusCode::UNAUTHORIZED), ..Fault::of("AUTHENTICATION_FAILED") });
    }
    Ok(())
}

fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
}

async fn renew_secret(
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

/// The operator of a number written as MyPVit takes it (`0` + 8 digits, or `241` + 8 digits).
fn customer_operator(number: &str) -> Option<Operator> {
    let digits = number.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits
        && ((number.len() == 9 && number.starts_with('0'))
            || (number.len() == 11 && number.starts_with("241")));
    if !well_formed {
        return None;
    }
    match PhoneNumber::parse(number, Country::Ga).ok()?.network() {
        Network::Airtel => Some(Operator::AirtelMoney),
        Network::Moov => Some(Operator::MoovMoney),
        _ => None,
    }
}

/// The national form of a valid number, for the test-number table.
fn national(number: &str) -> String {
    match number.strip_prefix("241") {
        Some(rest) if number.len() == 11 => format!("0{rest}"),
        _ => number.to_owned(),
    }
}

fn trigger_of(number: &str) -> Option<Trigger> {
    let national = national(number);
    TEST_NUMBERS.iter().find(|t| t.number == national).map(|t| t.trigger)
}

/// The refusal a test number causes before any transaction exists.
fn refusal_for(number: &str) -> Option<Fault> {
    match trigger_of(number)? {
        Trigger::Blocked => Some(Fault::of("CUSTOMER_BLOCKED")),
        Trigger::PinNotSet => Some(Fault::of("CUSTOMER_PIN_NOT_SET")),
        Trigger::Unknown => Some(Fault::of("UNKNOWN_CUSTOMER")),
        Trigger::Named(_) => None,
    }
}

fn fees_of(amount: u64) -> u64 {
    // 2.5 %, rounded up.
    (amount * 25).div_ceil(1000)
}

fn too_long(value: Option<&str>, max: usize) -> bool {
    value.is_some_and(|v| v.chars().count() > max)
}

/// Reads a JSON body: media type, syntax, required fields, then the typed form.
fn read_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    required: &[&str],
) -> Result<T, Fault> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(Fault::of("HTTP_MEDIA_TYPE_NOT_SUPPORTED"));
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| Fault::of("UNREADABLE_REQUEST_BODY"))?;
    if value.get("transaction_type").is_none_or(serde_json::Value::is_null) {
        return Err(Fault::of("NULL_TRANSACTION_TYPE_IDENTIFIER"));
    }
    for field in required {
        let present = value.get(*field).is_some_and(|v| !v.is_null())
            || (*field == "customer_account_number" && value.get("customer_acccount_number").is_some());
        if !present {
            return Err(missing_param(field));
        }
    }
    serde_json::from_value(value).map_err(|e| Fault::saying("CONSTRAINT_VIOLATION", e.to_string()))
}

/// The checks common to `/rest` and `/link`; gives the number's operator (none for cards).
fn check_common(
    inner: &Inner,
    amount: Amount,
    reference: &str,
    texts: [Option<&str>; 3],
    number: &str,
    account: &str,
    card: bool,
) -> Result<Option<Operator>, Fault> {
    if account != inner.merchant.operation_account_code {
        return Err(Fault::of("OPERATION_ACCOUNT_NOT_FOUND"));
    }
    if reference.is_empty()
        || too_long(Some(reference), 15)
        || texts.iter().any(|t| too_long(*t, 15))
        || too_long(Some(number), 20)
    {
        return Err(Fault::saying(
            "CONSTRAINT_VIOLATION",
            "reference, agent, product and free_info take 15 characters at most; the number 20",
        ));
    }
    let operator = if card {
        None
    } else {
        let Some(op) = customer_operator(number) else {
            return Err(Fault::of("INVALID_PHONE_NUMBER"));
        };
        if let Some(refusal) = refusal_for(number) {
            return Err(refusal);
        }
        Some(op)
    };
    if amount.0 <= 150 {
        return Err(Fault::of("TRANSACTION_AMOUNT_TOO_LOW"));
    }
    if lock(inner).by_reference.contains_key(reference) {
        return Err(Fault::saying(
            "TRANSACTION_REFERENCE_ALREADY_EXISTS",
            format!("The reference [{reference}] already exists"),
        ));
    }
    Ok(operator)
}

/// Records a new transaction; returns its id. `None` when the reference was taken meanwhile.
fn record(inner: &Inner, mut t: Transaction, prefix: &str) -> Option<Transaction> {
    let mut book = lock(inner);
    if book.by_reference.contains_key(&t.merchant_reference_id) {
        return None;
    }
    book.counter += 1;
    let day = now_with(time::macros::format_description!("[day][month][year repr:last_two]"));
    t.reference_id = format!("{prefix}{day}{:06}", book.counter);
    if let Some((_, token)) = &mut t.link {
        *token = base64::engine::general_purpose::STANDARD_NO_PAD
            .encode(format!("{}{day}{:07}", inner.merchant.operation_account_code, book.counter));
        book.links.insert(token.clone(), t.reference_id.clone());
    }
    book.by_reference.insert(t.merchant_reference_id.clone(), t.reference_id.clone());
    book.transactions.insert(t.reference_id.clone(), t.clone());
    Some(t)
}

fn new_transaction(
    kind: TransactionType,
    reference: &str,
    amount: Amount,
    owner_charge: ChargeOwner,
    operator: Option<Operator>,
    number: &str,
    free_info: Option<String>,
) -> Transaction {
    Transaction {
        reference_id: String::new(),
        merchant_reference_id: reference.to_owned(),
        kind,
        status: TransactionStatus::Pending,
        amount: amount.0,
        fees: fees_of(amount.0),
        owner_charge,
        operator,
        customer_account_number: number.to_owned(),
        free_info,
        date: now_with(time::macros::format_description!("[day]/[month]/[year] [hour]:[minute]:[second]")),
        link: None,
        link_used: false,
        callback_attempts: 0,
        callback_acknowledged: false,
    }
}

/// Applies the seed's rule and the account's balance; returns the final status.
fn conclude(book: &mut Book, reference_id: &str) -> Option<Transaction> {
    let balance = book.balance;
    let t = book.transactions.get_mut(reference_id)?;
    if t.status != TransactionStatus::Pending {
        return None;
    }
    let merchant_fees = if t.owner_charge == ChargeOwner::Merchant { t.fees } else { 0 };
    let by_rule = if t.amount <= MAX_SUCCEEDING_AMOUNT {
        TransactionStatus::Success
    } else {
        TransactionStatus::Failed
    };
    t.status = match (t.kind, by_rule) {
        (TransactionType::GiveChange, TransactionStatus::Success) if balance < t.amount + merchant_fees => {
            TransactionStatus::Failed
        }
        (_, s) => s,
    };
    let t = t.clone();
    if t.status == TransactionStatus::Success {
        match t.kind {
            TransactionType::Payment => book.balance += t.amount.saturating_sub(merchant_fees),
            _ => book.balance -= t.amount + merchant_fees,
        }
    }
    Some(t)
}

/// Settles a pending transaction by the rule, then sends its callback.
async fn settle(inner: &Inner, reference_id: &str) {
    let settled = conclude(&mut lock(inner), reference_id);
    if let Some(t) = settled {
        deliver(inner, &t).await;
    }
}

/// Sends the callback as the sandbox's misbehaviour plan says (by default: once, until it is
/// acknowledged as the document requires, three times at most).
async fn deliver(inner: &Inner, t: &Transaction) {
    let callback = callback_of(t, t.status);
    let plan = inner.misbehave.webhook_plan(&serde_json::to_string(&callback).unwrap_or_default());
    if !plan.wait().await {
        return;
    }
    for _ in 0..plan.copies {
        post_callback(inner, &callback, plan.bad_signature).await;
    }
    if plan.stale_after {
        // The transaction as it was while pending, arriving last.
        post_callback(inner, &callback_of(t, TransactionStatus::Pending), plan.bad_signature).await;
    }
}

fn callback_of(t: &Transaction, status: TransactionStatus) -> Callback {
    let code = if status == TransactionStatus::Success { 200 } else { 400 };
    Callback {
        transaction_id: t.reference_id.clone(),
        merchant_reference_id: t.merchant_reference_id.clone(),
        status,
        amount: Amount(t.amount),
        customer_id: Some(t.customer_account_number.clone()),
        fees: serde_json::Number::from_f64(t.fees as f64),
        total_amount: serde_json::Number::from_f64((t.amount + t.fees) as f64),
        charge_owner: Some(t.owner_charge),
        free_info: t.free_info.clone(),
        transaction_operation: Some(t.kind),
        code,
        callback_media_type: Some("application/json".into()),
        operator: t.operator,
    }
}

/// Posts one callback until it is acknowledged, three times at most. MyPVit signs nothing:
/// a `forged` callback goes to a wrong secret path instead (what a forger who does not know
/// the path would do).
async fn post_callback(inner: &Inner, callback: &Callback, forged: bool) {
    let url = if forged {
        format!("{}-forged", inner.merchant.callback_url)
    } else {
        inner.merchant.callback_url.clone()
    };
    let expected =
        CallbackAck { response_code: callback.code, transaction_id: callback.transaction_id.clone() };
    let reference = &callback.transaction_id;
    for attempt in 0..3u32 {
        if let Some(t) = lock(inner).transactions.get_mut(reference) {
            t.callback_attempts += 1;
        }
        let sent = inner.http.post(&url).json(callback).send().await;
        let acknowledged = match sent {
            Ok(r) if r.status().is_success() => r.json::<CallbackAck>().await.is_ok_and(|a| a == expected),
            Ok(r) => {
                tracing::warn!(status = %r.status(), attempt, "sandbox callback refused");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "sandbox callback not delivered");
                false
            }
        };
        if acknowledged {
            if let Some(t) = lock(inner).transactions.get_mut(reference) {
                t.callback_acknowledged = true;
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(300 * 2u64.pow(attempt))).await;
    }
}

fn rest_answer(t: &Transaction, merchant: &Merchant) -> RestResponse {
    let message = match (t.kind, t.status) {
        (TransactionType::Payment, _) => format!(
            "Votre demande de paiement {} a été initiée avec succès et est en cours de traitement. \
             Veuillez patienter le statut définitif de votre transaction",
            t.merchant_reference_id
        ),
        (_, TransactionStatus::Success) => {
            format!("Votre transaction {} a été effectué avec succès", t.merchant_reference_id)
        }
        _ => format!("Votre transaction {} a échoué", t.merchant_reference_id),
    };
    RestResponse {
        status: t.status,
        status_code: "200".into(),
        operator: t.operator,
        reference_id: Some(t.reference_id.clone()),
        merchant_reference_id: Some(t.merchant_reference_id.clone()),
        merchant_operation_account_code: Some(merchant.operation_account_code.clone()),
        message,
    }
}

async fn rest(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{code}/rest");
    let m = &inner.merchant;
    if let Err(f) = guard(&inner, &headers, &code, &m.url_codes.rest) {
        return f.respond(&path);
    }
    let required = [
        "amount",
        "reference",
        "service",
        "customer_account_number",
        "merchant_operation_account_code",
        "owner_charge",
    ];
    let req: RestRequest = match read_body(&headers, &body, &required) {
        Ok(r) => r,
        Err(f) => return f.respond(&path),
    };
    if req.transaction_type == TransactionType::Unknown {
        return fail("TRANSACTION_TYPE_NOT_FOUND", &path, None);
    }
    if req.service != crate::providers::mypvit::wire::SERVICE_RESTFUL {
        return fail("SERVICE_NOT_FOUND", &path, None);
    }
    match (&req.callback_url_code, req.transaction_type) {
        (None, TransactionType::Payment) => return missing("callback_url_code", &path),
        (Some(c), _) if *c != m.callback_url_code => return fail("INVALID_CALLBACK_URL_CODE", &path, None),
        _ => {}
    }
    let operator = match check_common(
        &inner,
        req.amount,
        &req.reference,
        [req.agent.as_deref(), req.product.as_deref(), req.free_info.as_deref()],
        &req.customer_account_number,
        &req.merchant_operation_account_code,
        false,
    ) {
        Ok(c) => c,
        Err(f) => return f.respond(&path),
    };
    match req.operator_code {
        Some(Operator::Unknown) => return fail("OPERATOR_NOT_FOUND", &path, None),
        Some(op) if Some(op) != operator => {
            return fail(
                "INVALID_PHONE_NUMBER",
                &path,
                Some("The number does not belong to this operator".into()),
            );
        }
        _ => {}
    }
    let t = new_transaction(
        req.transaction_type,
        &req.reference,
        req.amount,
        req.owner_charge,
        operator,
        &req.customer_account_number,
        req.free_info.clone(),
    );
    if req.transaction_type == TransactionType::GiveChange {
        let merchant_fees = if req.owner_charge == ChargeOwner::Merchant { t.fees } else { 0 };
        if lock(&inner).balance < t.amount + merchant_fees {
            return fail("OPERATION_ACCOUNT_INSUFFICIENT_BALANCE", &path, None);
        }
    }
    let prefix = if req.transaction_type == TransactionType::Payment { "PAY" } else { "GCH" };
    let Some(t) = record(&inner, t, prefix) else {
        return fail(
            "TRANSACTION_REFERENCE_ALREADY_EXISTS",
            &path,
            Some(format!("The reference [{}] already exists", req.reference)),
        );
    };
    if req.transaction_type == TransactionType::GiveChange {
        // Synchronous: the final status is the answer; no callback.
        let done = conclude(&mut lock(&inner), &t.reference_id).unwrap_or(t);
        return Json(rest_answer(&done, m)).into_response();
    }
    let answer = rest_answer(&t, m);
    let (inner2, id) = (inner.clone(), t.reference_id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(inner2.config.confirm_delay_ms)).await;
        settle(&inner2, &id).await;
    });
    Json(answer).into_response()
}

async fn link(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{code}/link");
    let m = &inner.merchant;
    if let Err(f) = guard(&inner, &headers, &code, &m.url_codes.link) {
        return f.respond(&path);
    }
    let required = [
        "amount",
        "reference",
        "service",
        "callback_url_code",
        "customer_account_number",
        "merchant_operation_account_code",
        "owner_charge",
    ];
    let req: LinkRequest = match read_body(&headers, &body, &required) {
        Ok(r) => r,
        Err(f) => return f.respond(&path),
    };
    match (req.service, req.transaction_type) {
        (LinkService::Unknown, _) => return fail("SERVICE_NOT_FOUND", &path, None),
        (_, TransactionType::Unknown) => return fail("TRANSACTION_TYPE_NOT_FOUND", &path, None),
        (LinkService::Restlink, _) | (_, TransactionType::Payment) => {}
        _ => return fail("OPERATOR_TYPE_TRANSACTION_NOT_ALLOWED", &path, None),
    }
    if req.callback_url_code != m.callback_url_code {
        return fail("INVALID_CALLBACK_URL_CODE", &path, None);
    }
    if req.service != LinkService::Restlink {
        let (Some(success), Some(failed)) =
            (&req.success_redirection_url_code, &req.failed_redirection_url_code)
        else {
            return missing("success_redirection_url_code, failed_redirection_url_code", &path);
        };
        if Some(success) != m.success_redirection_url_code.as_ref() {
            return fail("INVALID_REDIRECTION_URL_CODE", &path, None);
        }
        if Some(failed) != m.failed_redirection_url_code.as_ref() {
            return fail("INVALID_FAILED_REDIRECTION_URL_CODE", &path, None);
        }
    }
    let operator = match check_common(
        &inner,
        req.amount,
        &req.reference,
        [req.agent.as_deref(), req.product.as_deref(), req.free_info.as_deref()],
        &req.customer_account_number,
        &req.merchant_operation_account_code,
        req.service == LinkService::VisaMastercard,
    ) {
        Ok(c) => c,
        Err(f) => return f.respond(&path),
    };
    let mut t = new_transaction(
        req.transaction_type,
        &req.reference,
        req.amount,
        req.owner_charge,
        operator,
        &req.customer_account_number,
        req.free_info.clone(),
    );
    t.link = Some((req.service, String::new()));
    let prefix = if req.transaction_type == TransactionType::Payment { "PAY" } else { "GCH" };
    let Some(t) = record(&inner, t, prefix) else {
        return fail("TRANSACTION_REFERENCE_ALREADY_EXISTS", &path, None);
    };
    let token = t.link.as_ref().map(|(_, token)| token.clone()).unwrap_or_default();
    let (inner2, id) = (inner.clone(), t.reference_id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(inner2.config.link_expire_after_ms)).await;
        let expired = {
            let mut book = lock(&inner2);
            match book.transactions.get_mut(&id) {
                Some(t) if t.status == TransactionStatus::Pending && !t.link_used => {
                    t.status = TransactionStatus::Failed;
                    Some(t.clone())
                }
                _ => None,
            }
        };
        if let Some(t) = expired {
            deliver(&inner2, &t).await;
        }
    });
    Json(LinkResponse {
        status: TransactionStatus::Success,
        status_code: "200".into(),
        merchant_reference_id: t.merchant_reference_id,
        url: format!("{}/transaction-link/{token}/payment", inner.base_url),
    })
    .into_response()
}

/// The link's transaction, if it can still be used.
fn usable_link(inner: &Inner, token: &str) -> Result<Transaction, Fault> {
    let book = lock(inner);
    let t = book
        .links
        .get(token)
        .and_then(|id| book.transactions.get(id))
        .ok_or_else(|| Fault::of("TRANSACTION_NOT_FOUND"))?;
    if t.link_used {
        return Err(Fault::of("TRANSACTION_LINK_USED"));
    }
    if t.status != TransactionStatus::Pending {
        return Err(Fault::of("TRANSACTION_EXPIRED"));
    }
    Ok(t.clone())
}

fn mark_used(inner: &Inner, reference_id: &str) -> bool {
    match lock(inner).transactions.get_mut(reference_id) {
        Some(t) if !t.link_used && t.status == TransactionStatus::Pending => {
            t.link_used = true;
            true
        }
        _ => false,
    }
}

async fn open_link(State(inner): State<Shared>, Path(token): Path<String>) -> Response {
    let path = format!("/transaction-link/{token}/payment");
    let t = match usable_link(&inner, &token) {
        Ok(t) => t,
        Err(f) => return f.respond(&path),
    };
    let Some((service, _)) = t.link else { return fail("TRANSACTION_NOT_FOUND", &path, None) };
    if service == LinkService::Restlink {
        if !mark_used(&inner, &t.reference_id) {
            return fail("TRANSACTION_LINK_USED", &path, None);
        }
        let (inner2, id) = (inner.clone(), t.reference_id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(inner2.config.confirm_delay_ms)).await;
            settle(&inner2, &id).await;
        });
        return Html(format!(
            "<!doctype html><meta charset=utf-8><title>MyPVit (sandbox)</title>\
             <p id=prompt>Une demande de confirmation a été envoyée au {}.</p>",
            t.customer_account_number
        ))
        .into_response();
    }
    let what = if service == LinkService::VisaMastercard { "par carte" } else { "par mobile money" };
    Html(format!(
        "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>\
         <title>MyPVit (sandbox)</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>\
         <h1>MyPVit — sandbox</h1><p>Paiement de <b>{} XAF</b> {what} ({}).</p>\
         <form method=post><button id=pay>Payer</button></form></body></html>",
        t.amount, t.merchant_reference_id
    ))
    .into_response()
}

async fn pay_link(State(inner): State<Shared>, Path(token): Path<String>) -> Response {
    let path = format!("/transaction-link/{token}/payment");
    let t = match usable_link(&inner, &token) {
        Ok(t) => t,
        Err(f) => return f.respond(&path),
    };
    if t.link.as_ref().is_some_and(|(s, _)| *s == LinkService::Restlink)
        || !mark_used(&inner, &t.reference_id)
    {
        return fail("TRANSACTION_LINK_USED", &path, None);
    }
    let settled = conclude(&mut lock(&inner), &t.reference_id);
    let Some(done) = settled else { return fail("TRANSACTION_EXPIRED", &path, None) };
    let target = if done.status == TransactionStatus::Success {
        inner.merchant.success_url.clone()
    } else {
        inner.merchant.failed_url.clone()
    };
    let inner2 = inner.clone();
    tokio::spawn(async move { deliver(&inner2, &done).await });
    Redirect::to(&target).into_response()
}

async fn status(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Response {
    let path = format!("/{code}/status");
    if let Err(f) = guard(&inner, &headers, &code, &inner.merchant.url_codes.status) {
        return f.respond(&path);
    }
    let Ok(Query(q)) = query else { return fail("UNREADABLE_REQUEST_BODY", &path, None) };
    let Some(id) = q.transaction_id else { return missing("transactionId", &path) };
    let Some(account) = q.account_operation_code else { return missing("accountOperationCode", &path) };
    let Some(operation) = q.transaction_operation else { return missing("transactionOperation", &path) };
    if account != inner.merchant.operation_account_code {
        return fail("OPERATION_ACCOUNT_NOT_FOUND", &path, None);
    }
    let book = lock(&inner);
    let key = book.by_reference.get(&id).cloned().unwrap_or(id);
    match book.transactions.get(&key) {
        Some(t) if t.kind.as_str() == operation => Json(StatusResponse {
            date: t.date.clone(),
            status: t.status,
            amount: Amount(t.amount),
            fees: serde_json::Number::from_f64(t.fees as f64),
            operator: t.operator,
            merchant_reference_id: t.merchant_reference_id.clone(),
            customer_account_number: Some(t.customer_account_number.clone()),
            merchant_operation_account_code: Some(inner.merchant.operation_account_code.clone()),
        })
        .into_response(),
        _ => fail("TRANSACTION_NOT_FOUND", &path, None),
    }
}

async fn balance(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    query: Result<Query<BalanceQuery>, QueryRejection>,
) -> Response {
    let path = format!("/{code}/balance");
    if let Err(f) = guard(&inner, &headers, &code, &inner.merchant.url_codes.balance) {
        return f.respond(&path);
    }
    let Ok(Query(q)) = query else { return fail("UNREADABLE_REQUEST_BODY", &path, None) };
    let Some(account) = q.account_operation_code else { return missing("accountOperationCode", &path) };
    if account != inner.merchant.operation_account_code {
        return fail("OPERATION_ACCOUNT_NOT_FOUND", &path, None);
    }
    let balance = lock(&inner).balance;
    Json(BalanceResponse { balance: Amount(balance), merchant_operation_account_code: account })
        .into_response()
}

async fn kyc(
    State(inner): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    query: Result<Query<KycQuery>, QueryRejection>,
) -> Response {
    let path = format!("/{code}/kyc");
    if let Err(f) = guard(&inner, &headers, &code, &inner.merchant.url_codes.kyc) {
        return f.respond(&path);
    }
    let Ok(Query(q)) = query else { return fail("UNREADABLE_REQUEST_BODY", &path, None) };
    let Some(number) = q.customer_account_number else { return missing("customerAccountNumber", &path) };
    if customer_operator(&number).is_none() {
        return fail("INVALID_PHONE_NUMBER", &path, None);
    }
    let (name, active) = match trigger_of(&number) {
        Some(Trigger::Unknown) => return fail("UNKNOWN_CUSTOMER", &path, None),
        Some(Trigger::Blocked) => ("Client Bloqué", false),
        Some(Trigger::Named(n)) => (n, true),
        Some(Trigger::PinNotSet) | None => ("Client Sandbox", true),
    };
    Json(KycResponse { full_name: name.into(), customer_account_number: number, is_active: active })
        .into_response()
}

async fn list(State(inner): State<Shared>) -> Json<Vec<Transaction>> {
    let mut all: Vec<Transaction> = lock(&inner).transactions.values().cloned().collect();
    all.sort_by(|a, b| a.reference_id.cmp(&b.reference_id));
    Json(all)
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

async fn secret_state(State(inner): State<Shared>) -> Json<SecretState> {
    let book = lock(&inner);
    Json(SecretState {
        renewals: book.renewals,
        auth_refusals: book.auth_refusals,
        current_key: book.key.as_ref().filter(|k| Instant::now() < k.expires_at).map(|k| k.value.clone()),
    })
}

async fn revoke(State(inner): State<Shared>) -> StatusCode {
    lock(&inner).key = None;
    StatusCode::NO_CONTENT
}
