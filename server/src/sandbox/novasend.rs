//! The NovaSend sandbox: `POST /v1/payin/sessions`, `GET /v1/payin/{reference}`, a customer
//! confirmation page at each session's `paymentUrl`, and webhooks signed with
//! `X-Signature-Value` (hex HMAC-SHA256 of the raw body).
//!
//! Test phone numbers decide the outcome (NovaSend publishes none; these are our choice):
//!
//! | number (CI / CM)                   | what happens after the confirmation delay |
//! |------------------------------------|--------------------------------------------|
//! | +2250700000001 / +237650000001     | the customer confirms: payment completed   |
//! | +2250700000002 / +237650000002     | the customer declines                      |
//! | +2250700000003 / +237650000003     | confirmed, but the wallet lacks funds      |
//! | +2250700000004 / +237650000004     | the customer never answers: expires        |
//! | any other valid number             | waits for Accept/Decline on `paymentUrl`   |
//!
//! Choices where NovaSend is silent: a missing or non-UUID `X-Idempotency-Key` is answered 400
//! `idempotency_key_invalid`; the same key with another body 409 `idempotency_key_reused`; a
//! reused merchant `reference` under a new key 409 `transaction_is_already_processed`; amounts
//! are limited to 100–2,000,000 XOF (CI) and 200–500,000 XAF (CM, per an integrator's
//! configuration), else 400 `Invalid amount`. `GET /v1/payin/{reference}` accepts NovaSend's
//! reference and the merchant's. `GET /_sandbox/payins` lists every payin (sandbox only).

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
        ConfirmationStatus, ErrorBody, Failure, Payin, PayinStatus, SessionRequest, Transaction,
        TransactionStatus,
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
    TEST_NUMBERS.iter().find(|t| t.msisdn == msisdn).map_or(Outcome::WaitsForPage, |t| t.outcome)
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
    payins: HashMap<String, Payin>,
    by_merchant_reference: HashMap<String, String>,
    by_idempotency_key: HashMap<String, (SessionRequest, String)>,
    links: HashMap<String, String>,
}

#[derive(Debug)]
struct Inner {
    merchant: Merchant,
    config: SandboxConfig,
    base_url: String,
    book: Mutex<Book>,
    http: reqwest::Client,
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
        });
        let app = router(inner);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the NovaSend sandbox stopped");
            }
        });
        Ok(NovaSendSandbox { addr })
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn router(inner: Shared) -> Router {
    Router::new()
        .route("/v1/payin/sessions", post(create_session))
        .route("/v1/payin/{reference}", get(status))
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
    // A panic while holding the lock cannot leave the book half-written (each write is one
    // insert), so a poisoned lock is still usable.
    inner.book.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_text() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn random(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect::<String>().to_lowercase()
}

async fn create_session(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid or missing credentials");
    }
    let key = headers.get("x-idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("");
    if uuid::Uuid::parse_str(key).is_err() {
        return error(StatusCode::BAD_REQUEST, "idempotency_key_invalid", "X-Idempotency-Key must be a UUID");
    }
    let req: SessionRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let (country, currency, min, max) = match req.country.as_str() {
        "CI" => (Country::Ci, "XOF", 100, 2_000_000),
        "CM" => (Country::Cm, "XAF", 200, 500_000),
        _ => return error(StatusCode::NOT_FOUND, "country_not_found", "Country not supported"),
    };
    if req.amount == 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "transaction_greater_than_zero",
            "Amount must be greater than zero",
        );
    }
    if req.amount < min || req.amount > max {
        return error(StatusCode::BAD_REQUEST, "Invalid amount", "Amount outside the provider's limits");
    }
    match PhoneNumber::parse_e164(&req.msisdn) {
        Ok(p) if p.country() == country => {}
        _ => return error(StatusCode::NOT_FOUND, "client_not_found", "No wallet for this msisdn"),
    }

    let payin = {
        let mut book = lock(&inner);
        if let Some((first, reference)) = book.by_idempotency_key.get(key) {
            if *first != req {
                return error(
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    "Key already used with another body",
                );
            }
            let replay = book.payins.get(reference).cloned();
            return match replay {
                Some(p) => (StatusCode::CREATED, Json(p)).into_response(),
                None => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "lost payin"),
            };
        }
        if book.by_merchant_reference.contains_key(&req.reference) {
            return error(StatusCode::CONFLICT, "transaction_is_already_processed", "Reference already used");
        }
        let reference = format!("tr_{}", random(26));
        let code = random(10);
        let payin = Payin {
            kind: "payin".into(),
            fee: 0,
            reference: reference.clone(),
            phone_number: Some(req.msisdn.clone()),
            customer_name: Some(req.customer_name.clone()),
            amount: req.amount,
            charged_amount: req.amount,
            status: PayinStatus::Processing,
            currency: currency.into(),
            customer_reference: req.reference.clone(),
            confirmation_required: true,
            confirmation_status: ConfirmationStatus::None,
            payment_url: Some(format!("{}/link/{code}", inner.base_url)),
            created_at: now_text(),
            transaction: None,
            failure: None,
        };
        book.payins.insert(reference.clone(), payin.clone());
        book.by_merchant_reference.insert(req.reference.clone(), reference.clone());
        book.by_idempotency_key.insert(key.to_owned(), (req.clone(), reference.clone()));
        book.links.insert(code, reference);
        payin
    };
    schedule(inner.clone(), payin.reference.clone(), outcome_of(&req.msisdn));
    (StatusCode::CREATED, Json(payin)).into_response()
}

fn schedule(inner: Shared, reference: String, outcome: Outcome) {
    tokio::spawn(async move {
        let confirm = Duration::from_millis(inner.config.confirm_delay_ms);
        let expire = Duration::from_millis(inner.config.expire_after_ms);
        match outcome {
            Outcome::Succeeds | Outcome::Declines | Outcome::InsufficientFunds => {
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

/// Moves a payin to the outcome's final state, once; sends the webhook when it moved.
async fn settle(inner: &Inner, reference: &str, outcome: Outcome) {
    let updated = {
        let mut book = lock(inner);
        let Some(p) = book.payins.get_mut(reference) else { return };
        if p.status != PayinStatus::Processing {
            return;
        }
        let transaction = |status| Transaction {
            reference: Some(format!("tr_{}", random(16))),
            status: Some(status),
            customer_name: p.customer_name.clone(),
            processed_at: Some(now_text()),
            phone_number: p.phone_number.clone(),
            amount: Some(format!("{}.00", p.amount)),
            fees: Some("0.00".into()),
            charged_amount: Some(format!("{}.00", p.charged_amount)),
            currency: Some(p.currency.clone()),
        };
        match outcome {
            Outcome::Succeeds | Outcome::WaitsForPage => {
                p.status = PayinStatus::Processed;
                p.confirmation_status = ConfirmationStatus::Accepted;
                p.transaction = Some(transaction(TransactionStatus::Completed));
            }
            Outcome::Declines => {
                p.status = PayinStatus::Processed;
                p.confirmation_status = ConfirmationStatus::Declined;
                p.transaction = Some(transaction(TransactionStatus::Failed));
                p.failure = Some(Failure {
                    code: Some("customer_declined".into()),
                    message: "The customer declined the payment".into(),
                });
            }
            Outcome::InsufficientFunds => {
                p.status = PayinStatus::Processed;
                p.confirmation_status = ConfirmationStatus::Accepted;
                p.transaction = Some(transaction(TransactionStatus::Failed));
                p.failure = Some(Failure {
                    code: Some("client_not_enough_cash".into()),
                    message: "Insufficient balance".into(),
                });
            }
            Outcome::NeverConfirms => {
                p.status = PayinStatus::Expired;
                p.confirmation_status = ConfirmationStatus::Expired;
            }
        }
        p.clone()
    };
    deliver(inner, &updated).await;
}

/// Posts the signed webhook, retrying a few times as a provider would.
async fn deliver(inner: &Inner, payin: &Payin) {
    let Ok(body) = serde_json::to_vec(payin) else { return };
    let signature = sign(&inner.merchant.webhook_secret, &body);
    for attempt in 0..3u32 {
        let sent = inner
            .http
            .post(&inner.merchant.webhook_url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .body(body.clone())
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

async fn status(State(inner): State<Shared>, headers: HeaderMap, Path(reference): Path<String>) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "Invalid or missing credentials");
    }
    let book = lock(&inner);
    let key = book.by_merchant_reference.get(&reference).cloned().unwrap_or(reference);
    match book.payins.get(&key) {
        Some(p) => Json(p.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "transaction_does_not_exist", "Transaction does not exist"),
    }
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
    let state = match (p.status, p.confirmation_status) {
        (PayinStatus::Processing, _) => format!(
            "<form method=post action=/link/{code}/accept><button id=accept>Accepter / Accept</button></form>
             <form method=post action=/link/{code}/decline><button id=decline>Refuser / Decline</button></form>"
        ),
        (_, ConfirmationStatus::Accepted) => "<p id=done>Paiement confirmé. Vous pouvez fermer cette page.</p>".into(),
        (_, ConfirmationStatus::Declined) => "<p id=done>Paiement refusé.</p>".into(),
        _ => "<p id=done>Ce lien a expiré.</p>".into(),
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
    settle(&inner, &p.reference, outcome).await;
    Redirect::to(&format!("/link/{code}")).into_response()
}
