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
//! reference and the merchant's. `GET /_sandbox/payins` lists every payin (sandbox only);
//! `/_sandbox/misbehave` makes it misbehave ([`super::misbehave`]; its out-of-order webhook is
//! the payin as it was before it ended: `processing`, or `pending` for a direct payin).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::Engine;
use rand::{Rng, distr::Alphanumeric};
use serde::Deserialize;
use shared::phone::{Country, PhoneNumber};
use tokio::net::TcpListener;

use crate::providers::novasend::{
    SIGNATURE_HEADER, sign,
    wire::{
        ConfirmationStatus, DirectPayinRequest, DirectProvider, ErrorBody, Failure, Payin, PayinStatus,
        RefundRecord, RefundRequest, RefundState, SessionRequest, Transaction, TransactionStatus,
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
    /// How long a session waits for the customer before it expires.
    pub expire_after_ms: u64,
    /// Where webhooks go, as set in NovaSend's portal; by default the verifier's own
    /// `/webhooks/nova_send`.
    #[serde(default)]
    pub webhook_url: Option<String>,
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
#[derive(Debug, Clone)]
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
    misbehave: Arc<super::common::Misbehaviours>,
}

type Shared = Arc<Inner>;

/// A running sandbox.
#[derive(Debug)]
pub struct NovaSendSandbox {
    addr: SocketAddr,
}

impl NovaSendSandbox {
    /// Binds the listener and serves in the background.
    pub async fn start(config: SandboxConfig, merchant: Merchant) -> anyhow::Result<NovaSendSandbox> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            merchant,
            config,
            base_url: format!("http://{addr}"),
            book: Mutex::new(Book::default()),
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
            misbehave: Arc::default(),
        });
        let app = router(inner);
        super::common::serve(listener, app, "NovaSend");
        Ok(NovaSendSandbox { addr })
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn router(inner: Shared) -> Router {
    let faults = axum::middleware::from_fn_with_state(inner.misbehave.clone(), super::common::api_faults);
    Router::new()
        .route("/v1/payin/sessions", post(create_session))
        .route("/v1/direct/payin", post(create_direct))
        .route("/v1/payin/{reference}", get(status))
        .route("/v1/payin/{reference}/refund", post(refund))
        .route_layer(faults)
        .merge(super::common::admin_routes(inner.misbehave.clone()))
        .route("/link/{code}", get(page))
        .route("/link/{code}/{answer}", post(answer))
        .route("/_sandbox/payins", get(list))
        .with_state(inner)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(ErrorBody { code: code.into(), message: message.into(), status_code: status.as_u16() }))
        .into_response()
}

fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", inner.merchant.api_key, inner.merchant.api_client));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|v| v.trim() == expected)
}

fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, Book> {
    // Each write to the book is a few inserts that a panic cannot leave half-done, so a
    // poisoned lock is still usable.
    inner.book.lock().unwrap_or_else(|p| p.into_inner())
}

fn random(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect::<String>().to_lowercase()
}

/// What a payin request asks for, from either API.
struct Ask {
    reference: String,
    amount: u64,
    msisdn: String,
    customer_name: String,
    country: String,
    direct: Option<(DirectProvider, Option<String>)>,
}

/// Credentials and the idempotency key are checked before the body is read.
fn pre_checked(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    if !authorised(inner, headers) {
        return Some(error(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid or missing credentials"));
    }
    let key = headers.get("x-idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("");
    if uuid::Uuid::parse_str(key).is_err() {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "idempotency_key_invalid",
            "X-Idempotency-Key must be a UUID",
        ));
    }
    None
}

/// The documented rules, in order: country, amount, number, operator, OTP.
fn validate(ask: &Ask) -> Result<&'static str, Response> {
    let (country, currency, min, max) = match ask.country.as_str() {
        "CI" => (Country::Ci, "XOF", 100, 2_000_000),
        "CM" => (Country::Cm, "XAF", 200, 500_000),
        _ => return Err(error(StatusCode::NOT_FOUND, "country_not_found", "Country not supported")),
    };
    if ask.amount == 0 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "transaction_greater_than_zero",
            "Amount must be greater than zero",
        ));
    }
    if ask.amount < min || ask.amount > max {
        return Err(error(StatusCode::BAD_REQUEST, "Invalid amount", "Amount outside the provider's limits"));
    }
    match PhoneNumber::parse_e164(&ask.msisdn) {
        Ok(p) if p.country() == country => {}
        _ => return Err(error(StatusCode::NOT_FOUND, "client_not_found", "No wallet for this msisdn")),
    }
    if let Some((operator, otp)) = &ask.direct {
        let offered =
            country != Country::Cm || matches!(operator, DirectProvider::Orange | DirectProvider::Momo);
        if !offered {
            return Err(error(
                StatusCode::NOT_FOUND,
                "provider_not_found",
                "Provider not available in this country",
            ));
        }
        if *operator == DirectProvider::Orange {
            let well_formed = otp
                .as_deref()
                .is_some_and(|o| (4..=6).contains(&o.len()) && o.bytes().all(|b| b.is_ascii_digit()));
            if !well_formed {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "transaction_otp_required",
                    "A one-time code is required for Orange Money (#144*82#)",
                ));
            }
        }
    }
    Ok(currency)
}

async fn create_session(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = pre_checked(&inner, &headers) {
        return refused;
    }
    let req: SessionRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let ask = Ask {
        reference: req.reference,
        amount: req.amount,
        msisdn: req.msisdn,
        customer_name: req.customer_name,
        country: req.country,
        direct: None,
    };
    create(inner, &headers, &body, ask).await
}

async fn create_direct(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = pre_checked(&inner, &headers) {
        return refused;
    }
    let req: DirectPayinRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let ask = Ask {
        reference: req.reference,
        amount: req.payin.amount,
        msisdn: req.payin.msisdn,
        customer_name: req.customer_name,
        country: req.payin.country,
        direct: Some((req.payin.provider, req.payin.otp)),
    };
    create(inner, &headers, &body, ask).await
}

async fn create(inner: Shared, headers: &HeaderMap, body: &[u8], ask: Ask) -> Response {
    let key = headers.get("x-idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let fingerprint: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    // A replay gets the first answer, whatever happened since.
    {
        let book = lock(&inner);
        if let Some((first, reference)) = book.by_idempotency_key.get(&key) {
            if *first != fingerprint {
                return error(
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    "Key already used with another body",
                );
            }
            return match book.payins.get(reference) {
                Some(p) => (StatusCode::CREATED, Json(p.clone())).into_response(),
                None => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "lost payin"),
            };
        }
    }
    let currency = match validate(&ask) {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let outcome = match &ask.direct {
        Some((DirectProvider::Orange, Some(otp))) if otp == "000000" => Outcome::InvalidOtp,
        // The code is the customer's confirmation: no prompt to wait for.
        Some((DirectProvider::Orange, _)) => match outcome_of(&ask.msisdn) {
            Outcome::WaitsForPage => Outcome::Succeeds,
            other => other,
        },
        _ => outcome_of(&ask.msisdn),
    };
    let payin = {
        let mut book = lock(&inner);
        if book.by_merchant_reference.contains_key(&ask.reference) {
            return error(StatusCode::CONFLICT, "transaction_is_already_processed", "Reference already used");
        }
        let theirs = format!("tr_{}", random(26));
        let code = random(10);
        let direct = ask.direct.is_some();
        let payin = Payin {
            id: direct.then(|| theirs.clone()),
            kind: "payin".into(),
            fee: 0,
            reference: if direct { ask.reference.clone() } else { theirs.clone() },
            phone_number: Some(ask.msisdn.clone()),
            customer_name: Some(ask.customer_name.clone()),
            amount: ask.amount,
            charged_amount: ask.amount,
            status: if direct { PayinStatus::Pending } else { PayinStatus::Processing },
            currency: currency.into(),
            customer_reference: (!direct).then(|| ask.reference.clone()),
            is_direct: direct.then_some(true),
            confirmation_required: true,
            confirmation_status: ConfirmationStatus::None,
            payment_url: Some(format!("{}/link/{code}", inner.base_url)),
            created_at: super::common::now_rfc3339(),
            transaction: None,
            failure: None,
        };
        book.payins.insert(theirs.clone(), payin.clone());
        book.by_merchant_reference.insert(ask.reference.clone(), theirs.clone());
        book.by_idempotency_key.insert(key, (fingerprint, theirs.clone()));
        book.links.insert(code, theirs);
        payin
    };
    let reference = payin.provider_reference().to_owned();
    if outcome == Outcome::InvalidOtp {
        settle(&inner, &reference, outcome).await;
        let settled = lock(&inner).payins.get(&reference).cloned().unwrap_or(payin);
        return (StatusCode::CREATED, Json(settled)).into_response();
    }
    schedule(inner.clone(), reference, outcome);
    (StatusCode::CREATED, Json(payin)).into_response()
}

fn schedule(inner: Shared, reference: String, outcome: Outcome) {
    tokio::spawn(async move {
        let confirm = Duration::from_millis(inner.config.confirm_delay_ms);
        let expire = Duration::from_millis(inner.config.expire_after_ms);
        match outcome {
            Outcome::Succeeds | Outcome::Declines | Outcome::InsufficientFunds | Outcome::InvalidOtp => {
                tokio::time::sleep(confirm).await;
                settle(&inner, &reference, outcome).await;
            }
            Outcome::NeverConfirms | Outcome::WaitsForPage => {
                tokio::time::sleep(expire).await;
                settle(&inner, &reference, Outcome::NeverConfirms).await;
            }
        }
    });
}

fn is_open(p: &Payin) -> bool {
    matches!(p.status, PayinStatus::Processing | PayinStatus::Pending)
}

/// Moves a payin to the outcome's final state, once; sends the webhook when it moved.
async fn settle(inner: &Inner, reference: &str, outcome: Outcome) {
    let updated = {
        let mut book = lock(inner);
        let Some(p) = book.payins.get_mut(reference) else { return };
        if !is_open(p) {
            return;
        }
        let (confirmation, completed, failure) = match outcome {
            Outcome::Succeeds | Outcome::WaitsForPage => (ConfirmationStatus::Accepted, true, None),
            Outcome::Declines => {
                (ConfirmationStatus::Declined, false, Some(("declined", "The customer declined the payment")))
            }
            Outcome::InsufficientFunds => (
                ConfirmationStatus::Accepted,
                false,
                Some(("client_not_enough_cash", "Insufficient balance")),
            ),
            Outcome::InvalidOtp => {
                (ConfirmationStatus::Declined, false, Some(("transaction_error", "Invalid OTP")))
            }
            Outcome::NeverConfirms => (ConfirmationStatus::Expired, false, None),
        };
        p.confirmation_status = confirmation;
        p.failure =
            failure.map(|(code, message)| Failure { code: Some(code.into()), message: message.into() });
        if outcome == Outcome::NeverConfirms {
            p.status = PayinStatus::Expired;
        } else if p.is_direct == Some(true) {
            p.status = if completed { PayinStatus::Success } else { PayinStatus::Failed };
        } else {
            p.status = PayinStatus::Processed;
            p.transaction = Some(Transaction {
                reference: Some(format!("tr_{}", random(16))),
                status: Some(if completed {
                    TransactionStatus::Completed
                } else {
                    TransactionStatus::Failed
                }),
                customer_name: p.customer_name.clone(),
                processed_at: Some(super::common::now_rfc3339()),
                phone_number: p.phone_number.clone(),
                amount: Some(format!("{}.00", p.amount)),
                fees: Some("0.00".into()),
                charged_amount: Some(format!("{}.00", p.charged_amount)),
                currency: Some(p.currency.clone()),
            });
        }
        p.clone()
    };
    deliver(inner, &updated).await;
}

/// Delivers a payin's webhook as the sandbox's misbehaviour plan says (by default: once).
async fn deliver(inner: &Inner, payin: &Payin) {
    let Ok(body) = serde_json::to_vec(payin) else { return };
    let plan = inner.misbehave.webhook_plan(&String::from_utf8_lossy(&body));
    if !plan.wait().await {
        return;
    }
    for _ in 0..plan.copies {
        post_signed(inner, &body, plan.bad_signature).await;
    }
    if plan.stale_after {
        // What the payin looked like before it ended, arriving last.
        let mut stale = payin.clone();
        stale.status =
            if stale.is_direct == Some(true) { PayinStatus::Pending } else { PayinStatus::Processing };
        stale.confirmation_status = ConfirmationStatus::None;
        stale.transaction = None;
        stale.failure = None;
        if let Ok(stale) = serde_json::to_vec(&stale) {
            post_signed(inner, &stale, plan.bad_signature).await;
        }
    }
}

/// Posts a signed webhook (with a wrong secret when `forged`), retrying a few times as a
/// provider would.
async fn post_signed(inner: &Inner, body: &[u8], forged: bool) {
    let secret = if forged {
        format!("{}-not-it", inner.merchant.webhook_secret)
    } else {
        inner.merchant.webhook_secret.clone()
    };
    let signature = sign(&secret, body);
    for attempt in 0..3u32 {
        let sent = inner
            .http
            .post(&inner.merchant.webhook_url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(status = %r.status(), attempt, "sandbox webhook refused"),
            Err(e) => tracing::warn!(error = %e, attempt, "sandbox webhook not delivered"),
        }
        tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
    }
}

/// NovaSend's reference for a reference that may be NovaSend's or the merchant's.
fn find(book: &Book, reference: &str) -> Option<String> {
    if book.payins.contains_key(reference) {
        return Some(reference.to_owned());
    }
    book.by_merchant_reference.get(reference).cloned()
}

async fn status(State(inner): State<Shared>, headers: HeaderMap, Path(reference): Path<String>) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid or missing credentials");
    }
    let book = lock(&inner);
    match find(&book, &reference).and_then(|k| book.payins.get(&k)) {
        Some(p) => Json(p.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "transaction_does_not_exist", "Transaction does not exist"),
    }
}

fn succeeded(p: &Payin) -> bool {
    p.status == PayinStatus::Success
        || p.transaction.as_ref().and_then(|t| t.status) == Some(TransactionStatus::Completed)
}

async fn refund(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid or missing credentials");
    }
    let req: RefundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let mut book = lock(&inner);
    let Some(key) = find(&book, &reference) else {
        return error(StatusCode::NOT_FOUND, "transaction_does_not_exist", "Payment not found");
    };
    if let Some((previous, external)) = book.refunds.get(&key) {
        // The same refund asked again (a retry) gets the same answer; another one is refused.
        if *external == req.external_reference {
            return (StatusCode::CREATED, Json(previous.clone())).into_response();
        }
        return error(StatusCode::CONFLICT, "transaction_already_refunded", "Duplicate refund");
    }
    let Some(payin) = book.payins.get(&key).cloned() else {
        return error(StatusCode::NOT_FOUND, "transaction_does_not_exist", "Payment not found");
    };
    if !succeeded(&payin) {
        return error(StatusCode::FORBIDDEN, "transaction_not_refundable", "Refund not allowed");
    }
    let amount = req.amount.unwrap_or(payin.amount);
    if amount == 0 || amount > payin.amount {
        return error(StatusCode::BAD_REQUEST, "Invalid amount", "The refund is larger than the payment");
    }
    let record = RefundRecord {
        kind: "refund".into(),
        reference: format!("rf_{}", random(20)),
        original_reference: key.clone(),
        amount,
        fee: 0,
        currency: payin.currency.clone(),
        status: RefundState::Completed,
        reason: Some(req.reason),
        refund_type: Some(if amount == payin.amount { "full" } else { "partial" }.into()),
        created_at: Some(super::common::now_rfc3339()),
    };
    book.refunds.insert(key, (record.clone(), req.external_reference));
    (StatusCode::CREATED, Json(record)).into_response()
}

async fn list(State(inner): State<Shared>) -> Json<Vec<Payin>> {
    Json(lock(&inner).payins.values().cloned().collect())
}

fn find_by_code(inner: &Inner, code: &str) -> Option<Payin> {
    let book = lock(inner);
    book.links.get(code).and_then(|r| book.payins.get(r)).cloned()
}

async fn page(State(inner): State<Shared>, Path(code): Path<String>) -> Response {
    let Some(p) = find_by_code(&inner, &code) else {
        return (StatusCode::NOT_FOUND, Html("<h1>Lien inconnu</h1>".to_owned())).into_response();
    };
    let state = if is_open(&p) {
        format!(
            "<form method=post action=/link/{code}/accept><button id=accept>Accepter / Accept</button></form>
             <form method=post action=/link/{code}/decline><button id=decline>Refuser / Decline</button></form>"
        )
    } else {
        match p.confirmation_status {
            ConfirmationStatus::Accepted => {
                "<p id=done>Paiement confirmé. Vous pouvez fermer cette page.</p>".into()
            }
            ConfirmationStatus::Declined => "<p id=done>Paiement refusé.</p>".into(),
            _ => "<p id=done>Ce lien a expiré.</p>".into(),
        }
    };
    Html(format!(
        "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>
         <title>NovaSend (sandbox)</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>
         <h1>NovaSend — sandbox</h1><p>Paiement de <b>{} {}</b> depuis le {}.</p>{state}</body></html>",
        p.amount,
        p.currency,
        p.phone_number.unwrap_or_default()
    ))
    .into_response()
}

async fn answer(State(inner): State<Shared>, Path((code, answer)): Path<(String, String)>) -> Response {
    let Some(p) = find_by_code(&inner, &code) else {
        return (StatusCode::NOT_FOUND, Html("<h1>Lien inconnu</h1>".to_owned())).into_response();
    };
    let outcome = match answer.as_str() {
        "accept" => Outcome::WaitsForPage,
        "decline" => Outcome::Declines,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    settle(&inner, p.provider_reference(), outcome).await;
    Redirect::to(&format!("/link/{code}")).into_response()
}
