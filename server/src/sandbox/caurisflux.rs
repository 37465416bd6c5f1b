//! The CaurisFlux sandbox: `POST /api/v1/payments/initiate`, `GET /api/v1/payments/status/{id}`,
//! the public `GET /api/v1/payments/providers`, `GET /api/v1/countries/active` and
//! `GET /api/v1/health`, a payment page for Wave and hosted-checkout payments (`/pay/{id}`), and
//! webhooks signed as CaurisFlux signs them: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of
//! "<timestamp>.<raw body>">` with `X-Webhook-Timestamp` (unix seconds), `X-Webhook-Event` and
//! `X-Webhook-Delivery-Id`, body `{"event": "payment.success", "data": {…}}`.
//!
//! What it enforces, as documented (seed 000, `research/providers.md` §1):
//! - `X-API-Key: <pk>:<sk>` (or `Authorization: Bearer <pk>:<sk>`): missing, malformed or wrong
//!   keys are `401 UNAUTHORIZED`; a request from outside the configured IP whitelist is
//!   `403 FORBIDDEN`.
//! - Rate limits per API key, counted over sliding windows: by default 100 requests a minute and
//!   1000 an hour (`rate_per_minute`, `rate_per_hour`), answered `429 RATE_LIMIT_EXCEEDED` with
//!   `Retry-After`. Refused (401/403/429) and public requests are not counted.
//! - `VALIDATION_ERROR` (400) with the seed's messages: amount a whole number from 100 to
//!   5 000 000 ("Le montant doit être entre 100 et 5 000 000"; "Montant invalide" for a
//!   non-number or a fraction), currency XOF or XAF and the country's own ("Devise non
//!   supportée"), `customerPhone` in E.164 of the country ("Format de numéro invalide"), a
//!   known `provider` ("Méthode de paiement invalide") served in that country ("Provider non
//!   disponible", the `payments/initiate` page's message).
//! - Errors are NestJS-shaped: `{"statusCode": 400, "message": "…", "error": "VALIDATION_ERROR"}`;
//!   unknown routes answer NestJS's `404 Cannot POST /…` (so does the refund endpoint the
//!   plugin's roadmap names: CaurisFlux has no refund API yet).
//!
//! Choices where CaurisFlux publishes nothing:
//! - **Test triggers** ([`TEST_TRIGGERS`]): the docs mention test numbers but the list is not
//!   public. The outcome is decided by the last two digits of `customerPhone`, in any country
//!   and for any operator:
//!
//!   | ends in | what happens |
//!   |---------|--------------|
//!   | `01` | the customer confirms after `confirm_delay_ms`: `payment.success` |
//!   | `02` | the customer declines: `payment.failed`, `errorCode: PAYMENT_DECLINED` |
//!   | `03` | the wallet lacks funds: `payment.failed`, `errorCode: INSUFFICIENT_FUNDS` |
//!   | `04` | the customer never answers: `payment.expired` after `expire_after_ms` |
//!   | `05` | the customer cancels: `payment.cancelled` |
//!   | `06` | refused at once: `422 INVALID_PHONE_NUMBER` (no wallet for this number) |
//!   | `07` | refused at once: `422 PROVIDER_ERROR` (the operator is down) |
//!   | `08` | refused at once: `422 DAILY_LIMIT_EXCEEDED` |
//!   | `09` | refused at once: `422 PAYMENT_METHOD_NOT_SUPPORTED` |
//!   | `10` | the payment is recorded but the answer is lost (500); it then succeeds |
//!   | `11` | the first call is lost before it is recorded (500); a retry succeeds |
//!   | other | push payments wait, then expire; Wave and card payments wait for the page |
//!
//!   On the page (`redirectUrl`), "Payer" completes the payment and "Annuler" cancels it.
//! - Wave (`direct`) and `checkout` payments answer a `redirectUrl` to this sandbox's page
//!   (the docs' example shows `https://pay.wave.com/…`); push operators answer none.
//! - The status is `pending` at first, `processing` once the prompt is shown or the page opened,
//!   then `success`, `failed`, `cancelled` or `expired`.
//! - `GET /payments/status/{id}` accepts CaurisFlux's `transactionId` and the merchant's
//!   `externalReference`. Bodies are wrapped in `{"success": true, "data": …}` and the initiate
//!   call answers `200` (the seed's table lists 200 as the success code).
//! - `X-Idempotency-Key`: the same key with the same body replays the payment (its current
//!   state); with another body it is `422 IDEMPOTENCY_KEY_REUSED`. A reused `externalReference`
//!   under another key is `422 DUPLICATE_EXTERNAL_REFERENCE`. Refusals (`06`–`09`) record
//!   nothing.
//! - Webhooks go to the URL set in the "dashboard" (the sandbox's `webhook_url`), not to the
//!   request's `callbackUrl`, which is validated and kept. Each delivery is signed afresh and
//!   retried twice when not answered 2xx within 5 s (the seed: a webhook slower than 5 s has
//!   failed).
//! - Guinée is not served: it pays in GNF (see the adapter's coverage table, which the sandbox
//!   shares as its `GET /payments/providers`).
//! - `GET /_sandbox/payments` lists every payment (sandbox only); `/_sandbox/misbehave` makes it
//!   misbehave ([`super::misbehave`]; its out-of-order webhook is a `payment.processing` event,
//!   the payment as it was before it ended).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{
    money::Currency,
    phone::{Country, PhoneNumber},
};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::providers::caurisflux::{
    API_KEY_HEADER, COVERAGE, DELIVERY_HEADER, EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER,
    TIMESTAMP_HEADER, coverage, sign,
    wire::{
        Envelope, ErrorBody, ErrorMessage, InitiateRequest, MobileProvider, Payment, PaymentStatus,
        PaymentType, WebhookBody, WebhookEvent,
    },
};

#[cfg(test)]
mod tests;

/// The documented default: requests per minute and per API key.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 100;
/// The documented default: requests per hour and per API key.
pub const DEFAULT_RATE_PER_HOUR: u32 = 1000;

fn default_rate_per_minute() -> u32 {
    DEFAULT_RATE_PER_MINUTE
}

fn default_rate_per_hour() -> u32 {
    DEFAULT_RATE_PER_HOUR
}

/// How the sandbox runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// Where it listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How long a test customer takes to answer.
    pub confirm_delay_ms: u64,
    /// How long a payment waits for the customer before it expires.
    pub expire_after_ms: u64,
    /// Where webhooks go, as set in CaurisFlux's dashboard; by default the verifier's own
    /// `/webhooks/cauris_flux`.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Requests a minute per API key (documented default 100).
    #[serde(default = "default_rate_per_minute")]
    pub rate_per_minute: u32,
    /// Requests an hour per API key (documented default 1000).
    #[serde(default = "default_rate_per_hour")]
    pub rate_per_hour: u32,
    /// The dashboard's IP whitelist; empty lets every address in.
    #[serde(default)]
    pub allowed_ips: Vec<IpAddr>,
}

/// The merchant's account: its keys and webhook settings, as in CaurisFlux's dashboard.
#[derive(Debug, Clone)]
pub struct Merchant {
    /// `pk_test_…`.
    pub public_key: String,
    /// `sk_test_…`.
    pub secret_key: String,
    /// Where webhooks go.
    pub webhook_url: String,
    /// The webhook signing secret.
    pub webhook_secret: String,
}

/// What a test payment does, decided by the last two digits of the customer's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Confirms: paid.
    Succeeds,
    /// Declines on the phone.
    Declines,
    /// Confirms, but the wallet lacks funds.
    InsufficientFunds,
    /// Never answers: expires.
    NeverAnswers,
    /// Cancels.
    Cancels,
    /// Refused at once: the number has no wallet.
    UnknownWallet,
    /// Refused at once: the operator is down.
    OperatorDown,
    /// Refused at once: the daily limit is reached.
    DailyLimit,
    /// Refused at once: this method cannot be used.
    MethodRefused,
    /// Recorded, but the answer is lost (500); then paid.
    AnswerLost,
    /// The first call is lost before it is recorded (500); a retry is paid.
    FirstCallLost,
    /// Waits: push payments expire, page payments wait for "Payer" or "Annuler".
    Waits,
}

impl Outcome {
    /// What it means, for the demo's printout.
    pub fn describe(self) -> &'static str {
        match self {
            Outcome::Succeeds => "confirms after a moment: paid",
            Outcome::Declines => "declines on the phone: failed (PAYMENT_DECLINED)",
            Outcome::InsufficientFunds => "balance too low: failed (INSUFFICIENT_FUNDS)",
            Outcome::NeverAnswers => "never answers: expires",
            Outcome::Cancels => "cancels: failed (payment.cancelled)",
            Outcome::UnknownWallet => "refused at once: 422 INVALID_PHONE_NUMBER",
            Outcome::OperatorDown => "refused at once: 422 PROVIDER_ERROR",
            Outcome::DailyLimit => "refused at once: 422 DAILY_LIMIT_EXCEEDED",
            Outcome::MethodRefused => "refused at once: 422 PAYMENT_METHOD_NOT_SUPPORTED",
            Outcome::AnswerLost => "recorded but the answer is lost (500), then paid",
            Outcome::FirstCallLost => "first call lost (500, not recorded); a retry is paid",
            Outcome::Waits => "push: waits, then expires; Wave/card: waits for the payment page",
        }
    }

    /// The synchronous refusal, if this outcome is one: code and message.
    fn refusal(self) -> Option<(&'static str, &'static str)> {
        match self {
            Outcome::UnknownWallet => {
                Some(("INVALID_PHONE_NUMBER", "Aucun compte mobile money pour ce numéro"))
            }
            Outcome::OperatorDown => Some(("PROVIDER_ERROR", "L'opérateur est momentanément indisponible")),
            Outcome::DailyLimit => Some(("DAILY_LIMIT_EXCEEDED", "Limite journalière atteinte")),
            Outcome::MethodRefused => {
                Some(("PAYMENT_METHOD_NOT_SUPPORTED", "Méthode de paiement non supportée pour ce client"))
            }
            _ => None,
        }
    }
}

/// A documented test trigger: numbers ending in `suffix`.
#[derive(Debug, Clone, Copy)]
pub struct Trigger {
    /// The last two digits of the customer's number.
    pub suffix: &'static str,
    /// What happens.
    pub outcome: Outcome,
}

/// The documented test triggers; any other number [`Outcome::Waits`].
pub const TEST_TRIGGERS: &[Trigger] = &[
    Trigger { suffix: "01", outcome: Outcome::Succeeds },
    Trigger { suffix: "02", outcome: Outcome::Declines },
    Trigger { suffix: "03", outcome: Outcome::InsufficientFunds },
    Trigger { suffix: "04", outcome: Outcome::NeverAnswers },
    Trigger { suffix: "05", outcome: Outcome::Cancels },
    Trigger { suffix: "06", outcome: Outcome::UnknownWallet },
    Trigger { suffix: "07", outcome: Outcome::OperatorDown },
    Trigger { suffix: "08", outcome: Outcome::DailyLimit },
    Trigger { suffix: "09", outcome: Outcome::MethodRefused },
    Trigger { suffix: "10", outcome: Outcome::AnswerLost },
    Trigger { suffix: "11", outcome: Outcome::FirstCallLost },
];

/// What a payment from `phone` does.
pub fn outcome_of(phone: Option<&str>) -> Outcome {
    let Some(phone) = phone else { return Outcome::Waits };
    TEST_TRIGGERS.iter().find(|t| phone.ends_with(t.suffix)).map_or(Outcome::Waits, |t| t.outcome)
}

/// How a payment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Paid,
    Failed(&'static str, &'static str),
    Cancelled,
    Expired,
}

#[derive(Debug)]
struct Entry {
    payment: Payment,
    request: InitiateRequest,
}

#[derive(Debug, Default)]
struct Book {
    payments: HashMap<String, Entry>,
    order: Vec<String>,
    by_reference: HashMap<String, String>,
    by_key: HashMap<String, (InitiateRequest, String)>,
    lost_first_calls: HashSet<String>,
}

/// Sliding-window request counts per API key.
#[derive(Debug, Default)]
struct Limiter {
    hits: HashMap<String, VecDeque<Instant>>,
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

impl Limiter {
    /// Counts a request of `key` at `now`, or says how long to wait.
    fn admit(&mut self, key: &str, now: Instant, per_minute: u32, per_hour: u32) -> Result<(), Duration> {
        let q = self.hits.entry(key.to_owned()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= HOUR) {
            q.pop_front();
        }
        let in_minute = q.iter().rev().take_while(|t| now.duration_since(**t) < MINUTE).count();
        if in_minute >= per_minute as usize {
            let oldest = q.get(q.len() - in_minute).copied().unwrap_or(now);
            return Err(MINUTE.saturating_sub(now.duration_since(oldest)));
        }
        if q.len() >= per_hour as usize {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(HOUR.saturating_sub(now.duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }
}

#[derive(Debug)]
struct Inner {
    merchant: Merchant,
    config: SandboxConfig,
    base_url: String,
    book: Mutex<Book>,
    limiter: Mutex<Limiter>,
    http: reqwest::Client,
    misbehave: Arc<super::common::Misbehaviours>,
}

type Shared = Arc<Inner>;

/// A running sandbox.
#[derive(Debug)]
pub struct CaurisFluxSandbox {
    addr: SocketAddr,
}

impl CaurisFluxSandbox {
    /// Binds the listener and serves in the background.
    pub async fn start(config: SandboxConfig, merchant: Merchant) -> anyhow::Result<CaurisFluxSandbox> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            merchant,
            config,
            base_url: format!("http://{addr}"),
            book: Mutex::new(Book::default()),
            limiter: Mutex::new(Limiter::default()),
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
            misbehave: Arc::default(),
        });
        let app = router(inner);
        super::common::serve(listener, app, "CaurisFlux");
        Ok(CaurisFluxSandbox { addr })
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API's base URL, as the adapter's `base_url` takes it: `http://127.0.0.1:port/api/v1`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }
}

fn router(inner: Shared) -> Router {
    let faults = axum::middleware::from_fn_with_state(inner.misbehave.clone(), super::common::api_faults);
    Router::new()
        .route("/api/v1/payments/initiate", post(initiate))
        .route("/api/v1/payments/status/{id}", get(status))
        .route_layer(faults)
        .merge(super::common::admin_routes(inner.misbehave.clone()))
        .route("/api/v1/payments/providers", get(providers))
        .route("/api/v1/countries/active", get(countries))
        .route("/api/v1/health", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/pay/{id}", get(page))
        .route("/pay/{id}/{action}", post(act))
        .route("/_sandbox/payments", get(list))
        .fallback(not_found)
        .with_state(inner)
}

fn error(status: StatusCode, code: Option<&str>, message: &str) -> Response {
    let body = ErrorBody {
        status_code: Some(status.as_u16()),
        message: Some(ErrorMessage::One(message.to_owned())),
        error: code.map(str::to_owned),
        code: None,
    };
    (status, Json(body)).into_response()
}

fn internal_error() -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal server error")
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let body = ErrorBody {
        status_code: Some(404),
        message: Some(ErrorMessage::One(format!("Cannot {method} {}", uri.path()))),
        error: Some("Not Found".into()),
        code: None,
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each write under these locks is a few inserts that cannot panic half-way, so a poisoned
    // lock still holds consistent data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn text_in(ms: u64) -> String {
    let at = time::OffsetDateTime::now_utc() + Duration::from_millis(ms);
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Why an API request is turned away before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// `401 UNAUTHORIZED`, with the reason.
    Unauthorized(&'static str),
    /// `403 FORBIDDEN`: the address is not on the whitelist.
    Forbidden,
    /// `429 RATE_LIMIT_EXCEEDED`, with the wait before a request is admitted again.
    RateLimited(Duration),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthorized(why) => error(StatusCode::UNAUTHORIZED, Some("UNAUTHORIZED"), why),
            Refusal::Forbidden => error(StatusCode::FORBIDDEN, Some("FORBIDDEN"), "Adresse IP non autorisée"),
            Refusal::RateLimited(wait) => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    Some("RATE_LIMIT_EXCEEDED"),
                    "Trop de requêtes : attendez avant de réessayer",
                );
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
                r
            }
        }
    }
}

/// Authenticates and rate-limits an API request (docs `api-reference/introduction`, seed 000).
fn guard(inner: &Inner, headers: &HeaderMap, peer: IpAddr) -> Result<(), Refusal> {
    let presented = headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(Refusal::Unauthorized("Clé API manquante dans l'en-tête X-API-Key"))?;
    let (public, secret) = presented.split_once(':').filter(|(p, s)| !p.is_empty() && !s.is_empty()).ok_or(
        Refusal::Unauthorized("Format de clé API incorrect : clé publique ou secrète manquante (pk_…:sk_…)"),
    )?;
    let public_ok: bool = public.as_bytes().ct_eq(inner.merchant.public_key.as_bytes()).into();
    let secret_ok: bool = secret.as_bytes().ct_eq(inner.merchant.secret_key.as_bytes()).into();
    if !(public_ok && secret_ok) {
        return Err(Refusal::Unauthorized("Clé API invalide ou révoquée"));
    }
    let allowed = &inner.config.allowed_ips;
    if !allowed.is_empty() && !allowed.contains(&peer) {
        return Err(Refusal::Forbidden);
    }
    lock(&inner.limiter)
        .admit(public, Instant::now(), inner.config.rate_per_minute, inner.config.rate_per_hour)
        .map_err(Refusal::RateLimited)
}

fn validation(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR"), message)
}

const AMOUNT_RANGE: &str = "Le montant doit être entre 100 et 5 000 000";

fn optional_text(obj: &serde_json::Map<String, Value>, name: &str) -> Result<Option<String>, &'static str> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("Corps de requête invalide"),
    }
}

fn e164_of(phone: &str, country: Option<Country>) -> Result<String, &'static str> {
    match PhoneNumber::parse_e164(phone) {
        Ok(p) if country.is_none_or(|c| c == p.country()) => Ok(p.as_e164().to_owned()),
        _ => Err("Format de numéro invalide"),
    }
}

/// Applies the documented validation rules, in order; the first broken one is the message.
fn validate(value: &Value) -> Result<InitiateRequest, &'static str> {
    let obj = value.as_object().ok_or("Corps de requête invalide")?;
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some("direct") => PaymentType::Direct,
        Some("checkout") => PaymentType::Checkout,
        _ => return Err("Type de paiement invalide (direct ou checkout)"),
    };
    let amount = match obj.get("amount") {
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => u,
            // The plugin sends floats: 5000.0 is 5000; 5000.5 is not a whole amount.
            (None, Some(f)) if f.fract() == 0.0 && (0.0..=1e12).contains(&f) => f as u64,
            _ => return Err("Montant invalide"),
        },
        _ => return Err("Montant invalide"),
    };
    if !(100..=5_000_000).contains(&amount) {
        return Err(AMOUNT_RANGE);
    }
    let currency = match obj.get("currency") {
        None | Some(Value::Null) => Currency::Xof,
        Some(Value::String(s)) if s == "XOF" => Currency::Xof,
        Some(Value::String(s)) if s == "XAF" => Currency::Xaf,
        Some(_) => return Err("Devise non supportée"),
    };
    let external_reference = optional_text(obj, "externalReference")?
        .filter(|r| !r.trim().is_empty() && r.len() <= 128)
        .ok_or("La référence externe (externalReference) est requise")?;
    let provider = optional_text(obj, "provider")?
        .map(|p| MobileProvider::parse(&p).ok_or("Méthode de paiement invalide"))
        .transpose()?;
    let country = optional_text(obj, "country")?
        .map(|c| Country::parse(&c).filter(|c| coverage(*c).is_some()).ok_or("Pays non supporté"))
        .transpose()?;
    let phone = optional_text(obj, "customerPhone")?.filter(|p| !p.is_empty());
    let customer_phone = match kind {
        PaymentType::Direct => {
            let provider = provider.ok_or("Méthode de paiement invalide")?;
            let country = country.ok_or("Pays non supporté")?;
            let (zone_currency, operators) = coverage(country).ok_or("Pays non supporté")?;
            if currency != zone_currency {
                return Err("Devise non supportée");
            }
            if !operators.contains(&provider) {
                return Err("Provider non disponible");
            }
            Some(e164_of(phone.as_deref().ok_or("Format de numéro invalide")?, Some(country))?)
        }
        PaymentType::Checkout => {
            if let Some((zone_currency, _)) = country.and_then(coverage)
                && currency != zone_currency
            {
                return Err("Devise non supportée");
            }
            phone.as_deref().map(|p| e164_of(p, country)).transpose()?
        }
    };
    let url = |name| -> Result<Option<String>, &'static str> {
        match optional_text(obj, name)? {
            Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => Err("URL invalide"),
            other => Ok(other),
        }
    };
    let customer_email = optional_text(obj, "customerEmail")?;
    if customer_email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err("Adresse e-mail invalide");
    }
    Ok(InitiateRequest {
        kind,
        amount,
        currency,
        external_reference,
        provider,
        country: country.map(|c| c.code().to_owned()),
        customer_phone,
        customer_name: optional_text(obj, "customerName")?,
        customer_email,
        description: optional_text(obj, "description")?,
        callback_url: url("callbackUrl")?,
        return_url: url("returnUrl")?,
        cancel_url: url("cancelUrl")?,
        metadata: obj.get("metadata").filter(|m| !m.is_null()).cloned(),
    })
}

fn new_transaction_id(book: &Book) -> String {
    let mut rng = rand::rng();
    loop {
        let id = format!("TX{:09}", rng.random_range(0..1_000_000_000u32));
        if !book.payments.contains_key(&id) {
            return id;
        }
    }
}

fn ok(payment: &Payment) -> Response {
    (StatusCode::OK, Json(Envelope { success: true, data: payment.clone() })).into_response()
}

async fn initiate(
    State(inner): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = guard(&inner, &headers, peer.ip()) {
        return refused.into_response();
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return validation("Corps de requête JSON invalide");
    };
    let req = match validate(&value) {
        Ok(r) => r,
        Err(message) => return validation(message),
    };
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    let outcome = outcome_of(req.customer_phone.as_deref());
    let pays_by_page =
        req.kind == PaymentType::Checkout || req.provider.is_some_and(MobileProvider::pays_by_link);

    let payment = {
        let mut book = lock(&inner.book);
        if let Some(key) = &key
            && let Some((first, id)) = book.by_key.get(key)
        {
            if *first != req {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some("IDEMPOTENCY_KEY_REUSED"),
                    "Clé d'idempotence déjà utilisée avec une autre requête",
                );
            }
            return match book.payments.get(id) {
                Some(entry) => ok(&entry.payment),
                None => internal_error(),
            };
        }
        if book.by_reference.contains_key(&req.external_reference) {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("DUPLICATE_EXTERNAL_REFERENCE"),
                "externalReference déjà utilisée",
            );
        }
        if outcome == Outcome::FirstCallLost && book.lost_first_calls.insert(req.external_reference.clone()) {
            return internal_error();
        }
        if let Some((code, message)) = outcome.refusal() {
            return error(StatusCode::UNPROCESSABLE_ENTITY, Some(code), message);
        }
        let id = new_transaction_id(&book);
        let now = super::common::now_rfc3339();
        let payment = Payment {
            transaction_id: Some(id.clone()),
            external_reference: Some(req.external_reference.clone()),
            kind: Some("payment".into()),
            status: Some(PaymentStatus::Pending),
            amount: Some(req.amount.into()),
            currency: Some(req.currency.code().into()),
            provider: req.provider.map(|p| p.code().to_owned()),
            country: req.country.clone(),
            customer_phone: req.customer_phone.clone(),
            redirect_url: pays_by_page.then(|| format!("{}/pay/{id}", inner.base_url)),
            created_at: Some(now.clone()),
            updated_at: Some(now),
            expires_at: Some(text_in(inner.config.expire_after_ms)),
            metadata: req.metadata.clone(),
            ..Payment::default()
        };
        book.order.push(id.clone());
        book.by_reference.insert(req.external_reference.clone(), id.clone());
        if let Some(key) = key {
            book.by_key.insert(key, (req.clone(), id.clone()));
        }
        book.payments.insert(id, Entry { payment: payment.clone(), request: req });
        payment
    };
    if let Some(id) = payment.transaction_id.clone() {
        schedule(inner.clone(), id, outcome, pays_by_page);
    }
    if outcome == Outcome::AnswerLost { internal_error() } else { ok(&payment) }
}

fn schedule(inner: Shared, id: String, outcome: Outcome, pays_by_page: bool) {
    tokio::spawn(async move {
        let confirm = Duration::from_millis(inner.config.confirm_delay_ms);
        let expire = Duration::from_millis(inner.config.expire_after_ms);
        let end = match outcome {
            Outcome::Succeeds | Outcome::AnswerLost | Outcome::FirstCallLost => Some(End::Paid),
            Outcome::Declines => Some(End::Failed("PAYMENT_DECLINED", "Le client a refusé le paiement")),
            Outcome::InsufficientFunds => Some(End::Failed("INSUFFICIENT_FUNDS", "Solde insuffisant")),
            Outcome::Cancels => Some(End::Cancelled),
            _ => None,
        };
        // A push prompt is shown at once; a page payment is processing once its page is opened.
        if !pays_by_page || end.is_some() {
            tokio::time::sleep(confirm / 2).await;
            mark_processing(&inner, &id);
        }
        match end {
            Some(end) => {
                tokio::time::sleep(confirm - confirm / 2).await;
                settle(&inner, &id, end).await;
            }
            None => {
                let waited = if !pays_by_page { confirm / 2 } else { Duration::ZERO };
                tokio::time::sleep(expire.saturating_sub(waited)).await;
                settle(&inner, &id, End::Expired).await;
            }
        }
    });
}

fn mark_processing(inner: &Inner, id: &str) {
    let mut book = lock(&inner.book);
    if let Some(entry) = book.payments.get_mut(id)
        && entry.payment.status == Some(PaymentStatus::Pending)
    {
        entry.payment.status = Some(PaymentStatus::Processing);
        entry.payment.updated_at = Some(super::common::now_rfc3339());
    }
}

/// Ends a payment, once; sends its webhook when it ended now.
async fn settle(inner: &Inner, id: &str, end: End) {
    let ended = {
        let mut book = lock(&inner.book);
        let Some(entry) = book.payments.get_mut(id) else { return };
        let p = &mut entry.payment;
        if p.status.is_some_and(PaymentStatus::is_final) {
            return;
        }
        let now = super::common::now_rfc3339();
        let (status, failure) = match end {
            End::Paid => (PaymentStatus::Success, None),
            End::Failed(code, message) => (PaymentStatus::Failed, Some((code, message))),
            End::Cancelled => (PaymentStatus::Cancelled, None),
            End::Expired => {
                (PaymentStatus::Expired, Some(("PAYMENT_EXPIRED", "Le délai de paiement est dépassé")))
            }
        };
        p.status = Some(status);
        p.error_code = failure.map(|(c, _)| c.to_owned());
        p.error_message = failure.map(|(_, m)| m.to_owned());
        p.updated_at = Some(now.clone());
        p.completed_at = Some(now);
        p.clone()
    };
    deliver(inner, &ended).await;
}

fn event_of(status: Option<PaymentStatus>) -> Option<WebhookEvent> {
    match status? {
        PaymentStatus::Success => Some(WebhookEvent::PaymentSuccess),
        PaymentStatus::Failed => Some(WebhookEvent::PaymentFailed),
        PaymentStatus::Cancelled => Some(WebhookEvent::PaymentCancelled),
        PaymentStatus::Expired => Some(WebhookEvent::PaymentExpired),
        PaymentStatus::Pending | PaymentStatus::Processing | PaymentStatus::Unknown => None,
    }
}

/// Delivers a payment's webhook as the sandbox's misbehaviour plan says (by default: once).
async fn deliver(inner: &Inner, payment: &Payment) {
    let Some(event) = event_of(payment.status) else { return };
    let Ok(body) = serde_json::to_vec(&WebhookBody { event, data: payment.clone() }) else { return };
    let plan = inner.misbehave.webhook_plan(&String::from_utf8_lossy(&body));
    if !plan.wait().await {
        return;
    }
    // Every copy of one event carries the same delivery id, as a provider's retry does.
    let delivery = uuid::Uuid::new_v4().to_string();
    for _ in 0..plan.copies {
        post_signed(inner, &body, event.name(), &delivery, plan.bad_signature).await;
    }
    if plan.stale_after {
        // The payment as it was while processing, as a late event of its own.
        let mut data = payment.clone();
        data.status = Some(PaymentStatus::Processing);
        data.error_code = None;
        data.error_message = None;
        data.completed_at = None;
        let stale = serde_json::json!({"event": "payment.processing", "data": data});
        let delivery = uuid::Uuid::new_v4().to_string();
        if let Ok(stale) = serde_json::to_vec(&stale) {
            post_signed(inner, &stale, "payment.processing", &delivery, plan.bad_signature).await;
        }
    }
}

/// Posts one webhook, signed afresh (with a wrong secret when `forged`) for each of up to
/// three tries.
async fn post_signed(inner: &Inner, body: &[u8], event: &str, delivery: &str, forged: bool) {
    let secret = if forged {
        format!("{}-not-it", inner.merchant.webhook_secret)
    } else {
        inner.merchant.webhook_secret.clone()
    };
    for attempt in 0..3u32 {
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = format!("sha256={}", sign(&secret, &timestamp, body));
        let sent = inner
            .http
            .post(&inner.merchant.webhook_url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "CaurisFlux-Webhooks/1.0 (sandbox)")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(EVENT_HEADER, event)
            .header(DELIVERY_HEADER, delivery)
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

async fn status(
    State(inner): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = guard(&inner, &headers, peer.ip()) {
        return refused.into_response();
    }
    let book = lock(&inner.book);
    let key = book.by_reference.get(&id).cloned().unwrap_or(id);
    match book.payments.get(&key) {
        Some(entry) => ok(&entry.payment),
        None => error(StatusCode::NOT_FOUND, Some("NOT_FOUND"), "Transaction introuvable"),
    }
}

/// One entry of `GET /payments/providers` (shape chosen; the page was not available).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// The `provider` code.
    pub code: MobileProvider,
    /// Countries where it is served.
    pub countries: Vec<String>,
}

async fn providers() -> Json<Envelope<Vec<ProviderInfo>>> {
    let data = MobileProvider::ALL
        .into_iter()
        .map(|code| ProviderInfo {
            code,
            countries: COVERAGE
                .iter()
                .filter(|(_, _, ops)| ops.contains(&code))
                .map(|(c, _, _)| c.code().to_owned())
                .collect(),
        })
        .collect();
    Json(Envelope { success: true, data })
}

async fn countries() -> Json<Envelope<Vec<Value>>> {
    let data = COVERAGE
        .iter()
        .map(|(c, currency, _)| serde_json::json!({"code": c.code(), "currency": currency.code()}))
        .collect();
    Json(Envelope { success: true, data })
}

async fn list(State(inner): State<Shared>) -> Json<Vec<Payment>> {
    let book = lock(&inner.book);
    Json(book.order.iter().filter_map(|id| book.payments.get(id)).map(|e| e.payment.clone()).collect())
}

fn page_of(inner: &Inner, id: &str) -> Option<(Payment, InitiateRequest)> {
    let book = lock(&inner.book);
    book.payments
        .get(id)
        .filter(|e| e.payment.redirect_url.is_some())
        .map(|e| (e.payment.clone(), e.request.clone()))
}

async fn page(State(inner): State<Shared>, Path(id): Path<String>) -> Response {
    let Some((payment, request)) = page_of(&inner, &id) else {
        return (StatusCode::NOT_FOUND, Html("<h1>Lien inconnu</h1>".to_owned())).into_response();
    };
    mark_processing(&inner, &id);
    let what = match request.provider {
        Some(MobileProvider::Wave) => "Wave",
        _ => "carte bancaire ou mobile money",
    };
    let state = match payment.status {
        Some(PaymentStatus::Pending | PaymentStatus::Processing) => format!(
            "<form method=post action=/pay/{id}/confirm><button id=confirm>Payer</button></form>
             <form method=post action=/pay/{id}/cancel><button id=cancel>Annuler</button></form>"
        ),
        Some(PaymentStatus::Success) => {
            "<p id=done>Paiement effectué. Vous pouvez fermer cette page.</p>".into()
        }
        Some(PaymentStatus::Cancelled) => "<p id=done>Paiement annulé.</p>".into(),
        Some(PaymentStatus::Expired) => "<p id=done>Cette session de paiement a expiré.</p>".into(),
        _ => "<p id=done>Paiement refusé.</p>".into(),
    };
    Html(format!(
        "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>
         <title>CaurisFlux (sandbox)</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>
         <h1>CaurisFlux — sandbox</h1><p>Paiement de <b>{} {}</b> par {what}.</p>{state}</body></html>",
        request.amount,
        request.currency.code(),
    ))
    .into_response()
}

async fn act(State(inner): State<Shared>, Path((id, action)): Path<(String, String)>) -> Response {
    if page_of(&inner, &id).is_none() {
        return (StatusCode::NOT_FOUND, Html("<h1>Lien inconnu</h1>".to_owned())).into_response();
    }
    let end = match action.as_str() {
        "confirm" => End::Paid,
        "cancel" => End::Cancelled,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    settle(&inner, &id, end).await;
    Redirect::to(&format!("/pay/{id}")).into_response()
}
