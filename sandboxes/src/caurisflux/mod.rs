//! The CaurisFlux sandbox: `POST /api/v1/payments/initiate`, `GET /api/v1/payments/status/{id}`,
//! the public `GET /api/v1/payments/providers`, `GET /api/v1/countries/active` and
//! `GET /api/v1/health`, a payment page for Wave and hosted-checkout payments (`/pay/{id}`), and
//! webhooks signed as CaurisFlux signs them: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of
//! "<timestamp>.<raw body>">` with `X-Webhook-Timestamp` (unix seconds), `X-Webhook-Event` and
//! `X-Webhook-Delivery-Id`, body `{"event": "payment.success", "data": {…}}`.
//!
//! What it enforces, as documented (https://docs.caurisflux.com/guides/errors and `/api-reference/payments/initiate`):
//! - `X-API-Key: <pk>:<sk>` (or `Authorization: Bearer <pk>:<sk>`): missing, malformed or wrong
//!   keys are `401 UNAUTHORIZED`; a request from outside the configured IP whitelist is
//!   `403 FORBIDDEN`.
//! - Rate limits per API key, counted over sliding windows: by default 100 requests a minute and
//!   1000 an hour (`rate_per_minute`, `rate_per_hour`), answered `429 RATE_LIMIT_EXCEEDED` with
//!   `Retry-After`. Refused (401/403/429) and public requests are not counted.
//! - `VALIDATION_ERROR` (400) with the errors guide's messages: amount a whole number from 100 to
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
//!   | `06` | refused at once: `400 VALIDATION_ERROR` "Format de numéro invalide" (no wallet for this number) |
//!   | `07` | refused at once: `422 PROVIDER_ERROR` (the operator is down) |
//!   | `08` | refused at once: `422 DAILY_LIMIT_EXCEEDED` |
//!   | `09` | refused at once: `400 VALIDATION_ERROR` "Méthode de paiement invalide" |
//!   | `10` | the payment is recorded but the answer is lost (500); it then succeeds |
//!   | `11` | the first call is lost before it is recorded (500); a retry succeeds |
//!   | other | push payments wait, then expire; Wave and card payments wait for the page |
//!
//!   On the page (`redirectUrl`), "Payer" completes the payment and "Annuler" cancels it.
//! - Wave (`direct`) and `checkout` payments answer a `redirectUrl` to this sandbox's page
//!   (the docs' example shows `https://pay.wave.com/…`); push operators answer none. Direct
//!   payments carry `deepLinks` (documented as an object, its members unpublished): Wave's link
//!   under `wave`, empty for push operators.
//! - An ended payment (status and webhook) carries `provider` (the request's operator, or
//!   `test_provider` for a hosted-checkout payment, as the plugin's simulated event names it)
//!   and, unless it expired, the operator's `providerTransactionId`.
//! - The status is `pending` at first, `processing` once the prompt is shown or the page opened,
//!   then `success`, `failed`, `cancelled` or `expired`.
//! - `GET /payments/status/{id}` accepts CaurisFlux's `transactionId` and the merchant's
//!   `externalReference`. Bodies are wrapped in `{"success": true, "data": …}` and the initiate
//!   call answers `200` (the errors guide's table lists 200 as the success code).
//! - `X-Idempotency-Key`: the same key with the same body replays the payment (its current
//!   state); another body under a used key, or a used `externalReference` under another key,
//!   is a new payment (nothing documented refuses either; see `routes::initiate`). Refusals
//!   (`06`–`09`) record nothing. `GET /payments/status/{externalReference}` answers the newest
//!   payment with that reference.
//! - Webhooks go to the URL set in the "dashboard" (the sandbox's `webhook_url`), not to the
//!   request's `callbackUrl`, which is validated and kept. Each delivery is signed afresh and
//!   retried twice when not answered 2xx within 5 s (the errors guide: a webhook slower than 5 s has
//!   failed).
//! - Guinée is not served: it pays in GNF, and the errors guide accepts XOF and XAF only
//!   ([`wire::COVERAGE`], what `GET /payments/providers` lists at start).
//! - `GET /payments/providers` answers `{"success": true, "data": [{"code": "wave",
//!   "countries": ["CI", …]}, …]}` and `GET /countries/active` `{"success": true, "data":
//!   [{"code": "CI", "currency": "XOF"}, …]}` (the docs print neither body: the smallest shape
//!   that says what is served where). `PUT /_sandbox/providers` replaces the providers' list
//!   (sandbox only), and a direct payment for an operator it no longer lists in that country is
//!   refused "Provider non disponible".
//! - `GET /_sandbox/payments` lists every payment (sandbox only); `/_sandbox/misbehave` makes it
//!   misbehave ([`crate::misbehave`]; its out-of-order webhook is a `payment.processing` event,
//!   the payment as it was before it ended).
//! - **Every code of the errors guide is producible:** `UNAUTHORIZED` (no or wrong key),
//!   `FORBIDDEN` (an address outside `allowed_ips`), `VALIDATION_ERROR` (e.g. an amount under
//!   100), `RATE_LIMIT_EXCEEDED` (past `rate_per_minute` / `rate_per_hour`), `PROVIDER_ERROR` and
//!   `DAILY_LIMIT_EXCEEDED` (the `07` and `08` triggers) by a request; `REFUND_NOT_ALLOWED` and
//!   `INVALID_REFUND_AMOUNT` (no refund API yet) through the `refuse` mode,
//!   `{"refuse": "REFUND_NOT_ALLOWED"}` ([`ERROR_CODES`], or `"500"`). The
//!   `no_lookup_by_reference` mode answers `404` to a status asked by `externalReference`
//!   while the payment is held (by `transactionId` it is still found).
//! - **Documented variants** ([`VARIANTS`], the `variant` mode): webhooks signed over the body
//!   alone, without `sha256=`, or under the legacy `X-Cauris-*` headers; error bodies as
//!   `{error}`, `{statusCode, message}` or `{success: false, error: {code, message}}`.
//! - The initiation answers the documented fields only (`transactionId`, `status`, `amount`,
//!   `currency`, `redirectUrl`, `createdAt`, `expiresAt`); the status answers the whole payment.

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    routing::{get, post},
};
use tokio::net::TcpListener;

use crate::common::Running;

mod access;
mod customer;
mod routes;
mod variants;
pub mod wire;

use access::Limiter;
use customer::{act, page};
use routes::{
    ProviderInfo, countries, default_listing, initiate, list, not_found, providers, set_providers, status,
};
use wire::{InitiateRequest, Payment};

/// The documented default: requests per minute and per API key.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 100;
/// The documented default: requests per hour and per API key.
pub const DEFAULT_RATE_PER_HOUR: u32 = 1000;

/// How the sandbox runs.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where it listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How long a test customer takes to answer.
    pub confirm_delay_ms: u64,
    /// How long a payment waits for the customer before it expires.
    pub expire_after_ms: u64,
    /// Requests a minute per API key (documented default 100).
    pub rate_per_minute: u32,
    /// Requests an hour per API key (documented default 1000).
    pub rate_per_hour: u32,
    /// The dashboard's IP whitelist; empty lets every address in.
    pub allowed_ips: Vec<IpAddr>,
}

impl Default for SandboxConfig {
    /// Any free port on 127.0.0.1, a customer who answers in 3 s, payments that expire after
    /// 2 min, the documented rate limits, no whitelist.
    fn default() -> SandboxConfig {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            confirm_delay_ms: 3000,
            expire_after_ms: 120_000,
            rate_per_minute: DEFAULT_RATE_PER_MINUTE,
            rate_per_hour: DEFAULT_RATE_PER_HOUR,
            allowed_ips: Vec::new(),
        }
    }
}

/// The merchant's account: its keys and webhook settings, as in CaurisFlux's dashboard.
#[derive(Clone)]
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

impl std::fmt::Debug for Merchant {
    /// The secrets redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("public_key", &self.public_key)
            .field("secret_key", &"[REDACTED]")
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"[REDACTED]")
            .finish()
    }
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
            Outcome::UnknownWallet => "refused at once: 400 VALIDATION_ERROR \"Format de numéro invalide\"",
            Outcome::OperatorDown => "refused at once: 422 PROVIDER_ERROR",
            Outcome::DailyLimit => "refused at once: 422 DAILY_LIMIT_EXCEEDED",
            Outcome::MethodRefused => {
                "refused at once: 400 VALIDATION_ERROR \"Méthode de paiement invalide\""
            }
            Outcome::AnswerLost => "recorded but the answer is lost (500), then paid",
            Outcome::FirstCallLost => "first call lost (500, not recorded); a retry is paid",
            Outcome::Waits => "push: waits, then expires; Wave/card: waits for the payment page",
        }
    }

    /// The synchronous refusal, if this outcome is one: HTTP status, code and message. The
    /// errors guide names no payment error (it lists them by their action only), so a number
    /// or a method refused for this customer is answered under the guide's own name,
    /// `VALIDATION_ERROR`, with its messages for `customer.phone` and `payment_method`.
    fn refusal(self) -> Option<(u16, &'static str, &'static str)> {
        match self {
            Outcome::UnknownWallet => Some((400, "VALIDATION_ERROR", "Format de numéro invalide")),
            Outcome::OperatorDown => {
                Some((422, "PROVIDER_ERROR", "L'opérateur est momentanément indisponible"))
            }
            Outcome::DailyLimit => Some((422, "DAILY_LIMIT_EXCEEDED", "Limite journalière atteinte")),
            Outcome::MethodRefused => Some((400, "VALIDATION_ERROR", "Méthode de paiement invalide")),
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

/// The errors guide's named codes (<https://docs.caurisflux.com/guides/errors>) and the status
/// the sandbox answers each with, for the `refuse` mode ([`crate::misbehave`]); `"500"` answers
/// NestJS's bare server error. The guide gives statuses per class only (its "Codes HTTP"
/// table: 422 "Erreur métier" for business refusals), so these are ours where it is silent;
/// `DAILY_LIMIT_EXCEEDED` and `PROVIDER_ERROR` as the `08` and `07` triggers answer them.
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("UNAUTHORIZED", 401, "Clé API manquante, invalide ou révoquée"),
    ("FORBIDDEN", 403, "Accès refusé"),
    ("VALIDATION_ERROR", 400, "Requête invalide"),
    ("RATE_LIMIT_EXCEEDED", 429, "Trop de requêtes"),
    ("DAILY_LIMIT_EXCEEDED", 422, "Limite journalière atteinte"),
    ("REFUND_NOT_ALLOWED", 422, "Remboursement non autorisé"),
    ("INVALID_REFUND_AMOUNT", 422, "Montant de remboursement invalide"),
    ("PROVIDER_ERROR", 422, "L'opérateur est momentanément indisponible"),
];

/// The `refuse` mode's answer: a code of [`ERROR_CODES`] in CaurisFlux's error shape, or
/// `"500"`.
pub fn refusal(code: &str, _path: &str) -> Option<axum::response::Response> {
    if code == "500" {
        return Some(routes::internal_error());
    }
    let &(code, status, message) = ERROR_CODES.iter().find(|(c, ..)| *c == code)?;
    let status = axum::http::StatusCode::from_u16(status).ok()?;
    let mut response = routes::error(status, Some(code), message);
    if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
    }
    Some(response)
}

/// The documented variants the `variant` mode ([`crate::misbehave`]) switches the sandbox to,
/// where CaurisFlux's own sources disagree (the docs, and its WooCommerce plugin,
/// github.com/caurisflux/caurisflux-wp, which still accepts the older forms):
///
/// | name | what changes |
/// |------|--------------|
/// | `sign_body_only` | webhooks are signed over the raw body alone, not `"<timestamp>.<body>"` |
/// | `no_sha256_prefix` | the signature is the bare hex, without `sha256=` |
/// | `legacy_headers` | signature and timestamp come as `X-Cauris-Signature` / `X-Cauris-Timestamp` |
/// | `error_code_only` | error bodies are `{"error": "CODE"}` (what the plugin reads) |
/// | `error_nest` | error bodies are NestJS's `{"statusCode", "message"}`, no code (the docs' example) |
/// | `error_envelope` | error bodies are `{"success": false, "error": {"code", "message"}}` |
/// Why the `out_of_order` mode does not apply here: the plugin handles `payment.success`
/// (`payment.completed`, legacy), `payment.failed`, `payment.cancelled`, `payment.expired` and
/// `refund.completed` (github.com/caurisflux/caurisflux-wp, `includes/class-caurisflux-webhook.php`),
/// all final: no earlier event exists to deliver late, and the sandbox invents none.
pub const NO_EARLIER_EVENT: &str = "CaurisFlux documents no event before a payment's final one \
     (payment.success, payment.failed, payment.cancelled, payment.expired): nothing to deliver late";

pub const VARIANTS: &[&str] = &[
    "sign_body_only",
    "no_sha256_prefix",
    "legacy_headers",
    "error_code_only",
    "error_nest",
    "error_envelope",
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

#[derive(Debug)]
struct Inner {
    merchant: Merchant,
    config: SandboxConfig,
    base_url: String,
    book: Mutex<Book>,
    limiter: Mutex<Limiter>,
    listing: Mutex<Vec<ProviderInfo>>,
    http: reqwest::Client,
    misbehave: Arc<crate::misbehave::Misbehaviours>,
}

type Shared = Arc<Inner>;

/// Binds the listener and serves in the background until the handle is dropped; the handle's
/// [`Running::api_url`] is `http://127.0.0.1:port/api/v1`.
pub async fn start(config: SandboxConfig, merchant: Merchant) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let inner = Arc::new(Inner {
        merchant,
        config,
        base_url: format!("http://{addr}"),
        book: Mutex::new(Book::default()),
        limiter: Mutex::new(Limiter::default()),
        listing: Mutex::new(default_listing()),
        http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
        misbehave: Arc::new(
            crate::misbehave::Misbehaviours::refusing_with(refusal)
                .with_variants(VARIANTS)
                .without_earlier_events(NO_EARLIER_EVENT),
        ),
    });
    Ok(crate::common::serve(listener, router(inner), "CaurisFlux", "/api/v1"))
}

fn router(inner: Shared) -> Router {
    let faults = axum::middleware::from_fn_with_state(inner.misbehave.clone(), crate::misbehave::api_faults);
    Router::new()
        .route("/api/v1/payments/initiate", post(initiate))
        .route("/api/v1/payments/status/{id}", get(status))
        .route_layer(faults)
        .route_layer(axum::middleware::from_fn_with_state(inner.clone(), variants::error_shapes))
        .merge(crate::misbehave::admin_routes(inner.misbehave.clone()))
        .route("/api/v1/payments/providers", get(providers))
        .route("/api/v1/countries/active", get(countries))
        .route("/api/v1/health", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/pay/{id}", get(page))
        .route("/pay/{id}/{action}", post(act))
        .route("/_sandbox/payments", get(list))
        .route("/_sandbox/providers", axum::routing::put(set_providers))
        .fallback(not_found)
        .with_state(inner)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_are_read_from_the_last_two_digits() {
        assert_eq!(outcome_of(Some("+2250700000001")), Outcome::Succeeds);
        assert_eq!(outcome_of(Some("+221771234511")), Outcome::FirstCallLost);
        assert_eq!(outcome_of(Some("+24174000010")), Outcome::AnswerLost);
        assert_eq!(outcome_of(Some("+2250707123456")), Outcome::Waits);
        assert_eq!(outcome_of(None), Outcome::Waits);
        let suffixes: std::collections::HashSet<_> = TEST_TRIGGERS.iter().map(|t| t.suffix).collect();
        assert_eq!(suffixes.len(), TEST_TRIGGERS.len());
    }
}
