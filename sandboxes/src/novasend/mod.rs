//! The NovaSend sandbox: `POST /v1/payin/sessions`, `POST /v1/direct/payin`,
//! `GET /v1/payin/{reference}`, `POST /v1/payin/{reference}/refund`, a customer confirmation
//! page at each payin's `paymentUrl` (standing in for the phone's prompt), and webhooks signed
//! with `X-Signature-Value` (hex HMAC-SHA256 of the raw body).
//!
//! Test phone numbers decide the outcome (NovaSend publishes none; these are our choice). What
//! counts is how the number ends, so that every operator has its test numbers (07… Orange,
//! 05… MTN, 01… Moov in Côte d'Ivoire): `…0000001` confirms, `…0000002` declines, `…0000003`
//! lacks funds, `…0000004` never answers. For example:
//!
//! | number (CI / CM)                   | what happens after the confirmation delay |
//! |------------------------------------|--------------------------------------------|
//! | +2250700000001 / +237650000001     | the customer confirms: payment completed   |
//! | +2250700000002 / +237650000002     | the customer declines                      |
//! | +2250700000003 / +237650000003     | confirmed, but the wallet lacks funds      |
//! | +2250700000004 / +237650000004     | the customer never answers: expires        |
//! | any other valid number             | waits for Accept/Decline on `paymentUrl`   |
//!
//! Direct payins: `WAVE`, `MOMO` and `MOOV` follow the table above (Cameroun has only `ORANGE`
//! and `MOMO`: 404 `provider_not_found`); `ORANGE` requires `payin.otp`, 4 to 6 digits (400
//! `transaction_otp_required` otherwise): the code `000000` is refused (the payin fails at once,
//! `transaction_error`), any other completes after the delay unless the number is a test number.
//! Refunds complete at once (the sandbox answers `completed`); a payin is refundable once, when
//! it succeeded (403 `transaction_not_refundable` otherwise, 409 `transaction_already_refunded`
//! for a second refund; the same `externalReference` again replays the first answer); a partial
//! refund names an amount no larger than the payin's (400 `Invalid amount`).
//!
//! Choices where NovaSend is silent: a missing or non-UUID `X-Idempotency-Key` is answered 400
//! `idempotency_key_invalid`; the same key with another body 409 `idempotency_key_reused`; a
//! reused merchant `reference` under a new key 409 `transaction_is_already_processed`; amounts
//! are limited to 100–2,000,000 XOF (CI) and 200–500,000 XAF (CM, per an integrator's
//! configuration), else 400 `Invalid amount`. `GET /v1/payin/{reference}` accepts NovaSend's
//! reference and the merchant's. `GET /_sandbox/payins` lists every payin and `GET /_sandbox/refunds` every refund (sandbox only);
//! `/_sandbox/misbehave` makes it misbehave ([`crate::misbehave`]; its out-of-order webhook is
//! the payin as it was before it ended: `processing`, or `pending` for a direct payin).
//!
//! Every code and label of the error tables is producible: `Unauthorized`, `transaction_not_refundable`
//! / `Refund not allowed`, `transaction_does_not_exist` / `Payment not found`,
//! `transaction_is_already_processed`, `Invalid amount` and the others above by a request; the
//! rest (account and wallet states) through the `refuse` mode, `{"refuse": "client_kyc_not_approved"}`
//! ([`ERROR_CODES`], or `"500"`). The `no_lookup_by_reference` mode answers 404 to a status asked
//! by the merchant's reference while the payin is held. Webhook variants: [`VARIANTS`] (the
//! `variant` mode). A session's creation answers the payin page's example fields (no
//! `customerName`, no `failure`); a payin that ended shows no `paymentUrl`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    routing::{get, post},
};
use tokio::net::TcpListener;

use crate::common::Running;

mod customer;
mod routes;
mod variants;
pub mod wire;

use customer::{answer, page};
use routes::{create_direct, create_session, list, refund, status, unknown_route};
use wire::{Payin, RefundRecord};

/// The error tables' codes and labels (<https://docs.novasend.app/en/docs/integrations/errors>,
/// <https://docs.novasend.app/api-direct/refund.en>) and the status the sandbox answers each
/// with, for the `refuse` mode ([`crate::misbehave`]); `"500"` is the tables' code-less server
/// error. The tables print a status on the first row of each group only: the rows after
/// `api_token_invalid` are read as its 403 group, but for the two the sandbox already answers
/// 400 on a request (`transaction_otp_required`, `transaction_greater_than_zero`).
pub const ERROR_CODES: &[(&str, u16)] = &[
    ("Unauthorized", 401),
    ("api_token_invalid", 403),
    ("transaction_error", 403),
    ("transaction_not_refundable", 403),
    ("transaction_not_processed", 403),
    ("wallet_not_enough_cash", 403),
    ("wallet_should_be_different", 403),
    ("client_kyc_not_approved", 403),
    ("client_not_enough_cash", 403),
    ("transaction_otp_required", 400),
    ("transaction_greater_than_zero", 400),
    ("api_token_not_found", 404),
    ("wallet_not_found", 404),
    ("client_not_found", 404),
    ("country_not_found", 404),
    ("provider_not_found", 404),
    ("transaction_does_not_exist", 404),
    ("transaction_is_already_processed", 409),
    ("transaction_already_refunded", 409),
    ("Invalid amount", 400),
    ("Refund not allowed", 403),
    ("Payment not found", 404),
    ("Duplicate refund", 409),
];

/// The `refuse` mode's answer: a code or label of [`ERROR_CODES`] in NovaSend's error shape
/// (`{code, message, statusCode}`, the label also as the message), or `"500"`.
pub fn refusal(code: &str, _path: &str) -> Option<axum::response::Response> {
    use axum::http::StatusCode;
    if code == "500" {
        return Some(routes::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal server error",
        ));
    }
    let &(code, status) = ERROR_CODES.iter().find(|(c, _)| *c == code)?;
    let message =
        if code.contains(' ') || code == "Unauthorized" { code.to_owned() } else { code.replace('_', " ") };
    Some(routes::error(StatusCode::from_u16(status).ok()?, code, &message))
}

/// The documented webhook variants the `variant` mode ([`crate::misbehave`]) switches the
/// sandbox to (by default a webhook is the bare payin record, signed over its raw bytes, with
/// no `eventId`: the webhook page's sample):
///
/// | name | what changes |
/// |------|--------------|
/// | `wrapped_webhook` | a final payin comes as `{"event": "payin.confirmed" \| "payin.declined", "data": record}` (the payin page's event names, <https://docs.novasend.app/payin.en>) |
/// | `event_id` | the webhook carries an `eventId`, the same on every copy of one event (the webhook page: optional, for idempotence) |
/// | `sign_reserialised` | the body is sent pretty-printed and signed over its re-serialised compact JSON (`JSON.stringify` of the parsed body, as the docs' sample verifies) |
pub const VARIANTS: &[&str] = &["wrapped_webhook", "event_id", "sign_reserialised"];

/// How the sandbox runs.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where it listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How long a test customer takes to answer the push prompt.
    pub confirm_delay_ms: u64,
    /// How long a session waits for the customer before it expires.
    pub expire_after_ms: u64,
}

impl Default for SandboxConfig {
    /// Any free port on 127.0.0.1, a customer who answers in 3 s, sessions that expire after 2 min.
    fn default() -> SandboxConfig {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            confirm_delay_ms: 3000,
            expire_after_ms: 120_000,
        }
    }
}

/// A documented test number and what it does.
#[derive(Debug, Clone, Copy)]
pub struct TestNumber {
    /// E.164.
    pub msisdn: &'static str,
    /// What the simulated customer does.
    pub outcome: Outcome,
}

/// What the simulated customer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Confirms; the payment completes.
    Succeeds,
    /// Declines on the phone.
    Declines,
    /// Confirms, but the wallet lacks funds.
    InsufficientFunds,
    /// Never answers; the session expires.
    NeverConfirms,
    /// Waits for Accept or Decline on the payment page.
    WaitsForPage,
    /// Orange Money's one-time code was wrong: fails at once.
    InvalidOtp,
}

impl Outcome {
    /// What it means, for the demo's printout.
    pub fn describe(self) -> &'static str {
        match self {
            Outcome::Succeeds => "confirms after a moment: paid",
            Outcome::Declines => "declines on the phone: failed",
            Outcome::InsufficientFunds => "confirms, but the balance is too low: failed",
            Outcome::NeverConfirms => "never answers: expires",
            Outcome::WaitsForPage => "waits for Accept/Decline on the payment page",
            Outcome::InvalidOtp => "Orange Money with the one-time code 000000: refused",
        }
    }
}

/// The documented test numbers.
pub const TEST_NUMBERS: &[TestNumber] = &[
    TestNumber { msisdn: "+2250700000001", outcome: Outcome::Succeeds },
    TestNumber { msisdn: "+2250700000002", outcome: Outcome::Declines },
    TestNumber { msisdn: "+2250700000003", outcome: Outcome::InsufficientFunds },
    TestNumber { msisdn: "+2250700000004", outcome: Outcome::NeverConfirms },
    TestNumber { msisdn: "+237650000001", outcome: Outcome::Succeeds },
    TestNumber { msisdn: "+237650000002", outcome: Outcome::Declines },
    TestNumber { msisdn: "+237650000003", outcome: Outcome::InsufficientFunds },
    TestNumber { msisdn: "+237650000004", outcome: Outcome::NeverConfirms },
];

fn outcome_of(msisdn: &str) -> Outcome {
    match msisdn.len().checked_sub(7).map(|at| &msisdn[at..]) {
        Some("0000001") => Outcome::Succeeds,
        Some("0000002") => Outcome::Declines,
        Some("0000003") => Outcome::InsufficientFunds,
        Some("0000004") => Outcome::NeverConfirms,
        _ => Outcome::WaitsForPage,
    }
}

/// Credentials and the merchant's webhook endpoint, as set in NovaSend's portal.
#[derive(Clone)]
pub struct Merchant {
    /// Basic-auth user.
    pub api_key: String,
    /// Basic-auth password.
    pub api_client: String,
    /// Where webhooks go.
    pub webhook_url: String,
    /// The webhook signing secret.
    pub webhook_secret: String,
}

impl std::fmt::Debug for Merchant {
    /// The key and secrets redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("api_key", &"[REDACTED]")
            .field("api_client", &"[REDACTED]")
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"[REDACTED]")
            .finish()
    }
}

#[derive(Debug, Default)]
struct Book {
    /// Keyed by NovaSend's reference.
    payins: HashMap<String, Payin>,
    by_merchant_reference: HashMap<String, String>,
    by_idempotency_key: HashMap<String, (serde_json::Value, String)>,
    links: HashMap<String, String>,
    /// Keyed by the refunded payin's NovaSend reference, with the merchant's refund reference.
    refunds: HashMap<String, (RefundRecord, String)>,
}

#[derive(Debug)]
struct Inner {
    merchant: Merchant,
    config: SandboxConfig,
    base_url: String,
    book: Mutex<Book>,
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
        book: Mutex::new(Book::default()),
        http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
        misbehave: Arc::new(crate::misbehave::Misbehaviours::refusing_with(refusal).with_variants(VARIANTS)),
    });
    Ok(crate::common::serve(listener, router(inner), "NovaSend", ""))
}

fn router(inner: Shared) -> Router {
    let faults = axum::middleware::from_fn_with_state(inner.misbehave.clone(), crate::misbehave::api_faults);
    Router::new()
        .route("/v1/payin/sessions", post(create_session))
        .route("/v1/direct/payin", post(create_direct))
        .route("/v1/payin/{reference}", get(status))
        .route("/v1/payin/{reference}/refund", post(refund))
        .route_layer(faults)
        .merge(crate::misbehave::admin_routes(inner.misbehave.clone()))
        .route("/link/{code}", get(page))
        .route("/link/{code}/{answer}", post(answer))
        .route("/_sandbox/payins", get(list))
        .route("/_sandbox/refunds", get(routes::refunds))
        .fallback(unknown_route)
        .with_state(inner)
}

fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, Book> {
    // Each write to the book is a few inserts that a panic cannot leave half-done, so a
    // poisoned lock is still usable.
    inner.book.lock().unwrap_or_else(|p| p.into_inner())
}

fn random(n: usize) -> String {
    crate::common::random_alphanumeric(n).to_lowercase()
}
