//! The MyPVit sandbox: the v5.5 document's APIs under their URL codes
//! (`POST /{code}/renew-secret`, `POST /{code}/rest`, `POST /{code}/link`,
//! `GET /{code}/status`, `GET /{code}/balance`, `GET /{code}/kyc`), the payment-link pages
//! (`/transaction-link/{token}/payment`), `X-Secret` keys that expire and are delivered to the
//! merchant's secret-reception URL, unsigned callbacks whose acknowledgement is checked, and the
//! integration document's error body and code table. `/_sandbox/misbehave` makes it misbehave
//! ([`crate::misbehave`]; its out-of-order callback is a PENDING one after the final one, and a
//! "bad signature" callback goes to a wrong secret path, MyPVit signing nothing).
//!
//! **Test rule (the integration document's, for its test operation account):** a transaction of **at most
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
//!   401 `AUTHENTICATION_FAILED` (the renew-secret page of the v2 docs says 401; the integration document's
//!   table gives the same type 403). A wrong renewal password is 401 `AUTHENTICATION_FAILED`.
//! - **Errors** use the table's HTTP status and code; for the two types listed twice, the
//!   first row (`CUSTOMER_PIN_NOT_SET` 400/1005, `NULL_TRANSACTION_TYPE_IDENTIFIER` 400/1006).
//!   A URL code that is not the API's: 404 `API_NOT_FOUND`. A missing field:
//!   400 `MISSING_REQUEST_PARAM` naming it (`transaction_type`:
//!   `NULL_TRANSACTION_TYPE_IDENTIFIER`); a field of the wrong type or value, or a text over its
//!   length (reference, agent, product, free_info 15; number 20): 422 `CONSTRAINT_VIOLATION`.
//!   Bodies are JSON or XML, as the document allows (the XML form, which it does not print, is
//!   described in `xml.rs`); others are 415 `HTTP_MEDIA_TYPE_NOT_SUPPORTED`.
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
//! - **Callbacks** are JSON, or XML when the start sent `X-Callback-MediaType:
//!   application/xml`; `code` 200 for SUCCESS and 400 for FAILED. The answer must be
//!   `{"transactionId", "responseCode"}` echoing them (in JSON or XML); otherwise the callback is sent again,
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
//!
//! **Variants** ([`SandboxConfig`]): `authentication_failure_status: 403` answers a wrong or
//! expired key 403/3100 as the document's table does (401 by default, the v2 web docs);
//! `strict_fields: true` refuses a `/rest` or `/link` JSON body with a field the document's
//! parameter tables do not have ([`REST_FIELDS`], [`LINK_EXTRA_FIELDS`]: so `operator_code` and
//! the examples' `owner_charge_operator`, the tables naming it `operator_owner_charge`) as
//! 400 `UNREADABLE_REQUEST_BODY`.
//!
//! **Every code of the table is producible**: the requests above make `MISSING_REQUEST_HEADER`,
//! `AUTHENTICATION_FAILED`, `API_NOT_FOUND`, `UNREADABLE_REQUEST_BODY`, `MISSING_REQUEST_PARAM`,
//! `TRANSACTION_AMOUNT_TOO_LOW`, the test numbers' three, `TRANSACTION_REFERENCE_ALREADY_EXISTS`
//! and `TRANSACTION_NOT_FOUND` (and more); the others, account settings or provider-side states
//! (`AMBIGUOUS_TRANSACTION`, `API_MAINTENANCE_MODE`, `UNAVAILABLE_SERVICE`, …), through the
//! `refuse` mode, `{"refuse": "API_MAINTENANCE_MODE"}` or by application code
//! (`{"refuse": "3022"}` for the second `CUSTOMER_PIN_NOT_SET` row, 403). The
//! `no_lookup_by_reference` mode answers `TRANSACTION_NOT_FOUND` to a status asked by the
//! merchant's reference.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    routing::{get, post},
};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::common::Running;

mod callbacks;
mod errors;
mod links;
mod payments;
mod secret;
pub mod wire;
mod xml;

pub use errors::{ERRORS, LINK_EXTRA_FIELDS, REST_FIELDS, SECOND_ROWS};
use links::{link, open_link, pay_link};
use payments::{balance, kyc, list, rest, status};
pub use secret::SecretState;
use secret::{renew_secret, revoke, secret_state};
use wire::{ChargeOwner, LinkService, Operator, TransactionStatus, TransactionType};

/// The URL code of each API, as the merchant's space shows them (APIs page;
/// https://docs.mypvit.pro/en/tutoriels/add-url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCodes {
    /// `renew-secret`.
    pub renew_secret: String,
    /// `rest` (PAYMENT and GIVE_CHANGE).
    pub rest: String,
    /// `link`.
    pub link: String,
    /// `status`.
    pub status: String,
    /// `balance`.
    pub balance: String,
    /// `kyc`.
    pub kyc: String,
}

/// How the sandbox runs.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where it listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How long a test customer takes to answer the push prompt.
    pub confirm_delay_ms: u64,
    /// How long a key lives (3600 in the document).
    pub secret_ttl_s: u64,
    /// How long an unused payment link stays usable.
    pub link_expire_after_ms: u64,
    /// The HTTP status of `AUTHENTICATION_FAILED` (code 3100) for a wrong or expired
    /// `X-Secret`: 401 by default (the v2 web docs, <https://docs.mypvit.pro/en/v2/api/renew-secret>),
    /// 403 as the integration document's error table gives it.
    pub authentication_failure_status: u16,
    /// Refuse `/rest` and `/link` JSON bodies with a field the document's parameter tables do
    /// not have (`operator_code`, the examples' `owner_charge_operator`):
    /// `400 UNREADABLE_REQUEST_BODY`. Off by default, so that the document's own examples pass.
    pub strict_fields: bool,
}

impl Default for SandboxConfig {
    /// Any free port on 127.0.0.1, a customer who answers in 3 s, keys that live an hour (the
    /// document's 3600), links usable 10 minutes.
    fn default() -> SandboxConfig {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            confirm_delay_ms: 3000,
            secret_ttl_s: 3600,
            link_expire_after_ms: 600_000,
            authentication_failure_status: 401,
            strict_fields: false,
        }
    }
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
    /// An account with the sandbox's default codes: URL codes `SBXRENEW`, `SBXREST`, `SBXLINK`,
    /// `SBXSTATUS`, `SBXBALANCE`, `SBXKYC`; reception code `SBXRC`, callback code `SBXCB`,
    /// redirection codes `SBXOK` / `SBXKO`; keys and callbacks go to `webhook_url`, both
    /// redirections to `return_url`.
    pub fn with_default_codes(
        operation_account_code: String,
        password: String,
        webhook_url: String,
        return_url: String,
    ) -> Merchant {
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
            success_url: return_url.clone(),
            failed_url: return_url,
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
    /// What it means, for `provider-sandbox test-numbers`.
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

/// The integration document's test rule, for `provider-sandbox test-numbers`.
pub const AMOUNT_RULE: &str = "any other Airtel/Moov number: up to 1000 XAF succeeds, above 1000 XAF fails";

/// The largest amount that succeeds (the integration document's test rule).
pub const MAX_SUCCEEDING_AMOUNT: u64 = 1000;

/// The operation account's opening balance.
pub const OPENING_BALANCE: u64 = 5000;

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
    /// Whether the start asked for XML callbacks (`X-Callback-MediaType: application/xml`).
    pub callback_xml: bool,
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
    misbehave: Arc<crate::misbehave::Misbehaviours>,
}

type Shared = Arc<Inner>;

/// Binds the listener and serves in the background until the handle is dropped.
pub async fn start(config: SandboxConfig, merchant: Merchant) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
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
        misbehave: Arc::new(crate::misbehave::Misbehaviours::refusing_with(errors::refusal)),
    });
    Ok(crate::common::serve(listener, router(inner), "MyPVit", ""))
}

fn router(inner: Shared) -> Router {
    let faults = axum::middleware::from_fn_with_state(inner.misbehave.clone(), crate::misbehave::api_faults);
    Router::new()
        .route("/{code}/rest", post(rest))
        .route("/{code}/link", post(link))
        .route("/{code}/status", get(status))
        .route("/{code}/balance", get(balance))
        .route("/{code}/kyc", get(kyc))
        .route_layer(faults)
        .merge(crate::misbehave::admin_routes(inner.misbehave.clone()))
        // Key renewal stays up: a misbehaving payment API is what the modes simulate.
        .route("/{code}/renew-secret", post(renew_secret))
        .route("/transaction-link/{token}/payment", get(open_link).post(pay_link))
        .route("/_sandbox/transactions", get(list))
        .route("/_sandbox/secret", get(secret_state))
        .route("/_sandbox/secret/revoke", post(revoke))
        .fallback(errors::unknown_route)
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

fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
}
