//! The Scalapay sandbox: the Orders API v2 (`POST /v2/orders`, `GET /v2/payments/{token}`,
//! `GET /v2/payments/references`, `POST /v2/payments/capture`, `POST /v2/payments/{token}/delay`,
//! `/refund` and `/void`), the customer's card page at each order's `checkoutUrl`
//! (`/checkout/{token}`), and webhooks signed as Scalapay signs them: `x-scalapay-hmac-v1`, the
//! hex HMAC-SHA256 keyed with the merchant's API key over `V1:{x-scalapay-timestamp}:{body}`,
//! the body being the compact JSON sent.
//!
//! As documented (seed 001, `providers.md` §4): Bearer API key, and a 401 whose body is the
//! bare JSON string `"Unauthorized"`; errors `{errorCode, errorId, message, httpStatusCode}`
//! with `api_validationerror` (400, `message` listing the fields at fault, Joi style) for a
//! body missing what `POST /v2/orders` requires (`totalAmount`, `consumer{phoneNumber,
//! givenNames, surname, email}`, `items[]{name, category, sku, quantity, price}`,
//! `merchant{redirectConfirmUrl, redirectCancelUrl}`, `shipping{phoneNumber, countryCode, name,
//! postcode, suburb, line1}`), `order_amount_exceeds_maximum_limit` above the contract's
//! maximum, `invalid_token` (422, "Order … not found.") and `Idempotency-Key` replays marked
//! `Request-Idempotency: true`. An order not authorised within its expiry (40 minutes, or
//! `orderExpiryMilliseconds`) expires; an authorised order not captured by then, or a delayed
//! one past `authorizationExpiryMilliseconds`, lapses (`refunded_not_charged`, capture
//! `voided`). Webhooks: `created`, `authorized`, `charged`, `refunded`, `expired`, retried
//! with exponential backoff until answered 200. `/_sandbox/misbehave` makes it misbehave
//! ([`super::misbehave`]; its out-of-order webhook is a `created` one after the order moved on).
//!
//! Test cards (the seed's; any future expiry `MM/YY`, any 3- or 4-digit CVV):
//!
//! | card                | what happens                                                    |
//! |---------------------|-----------------------------------------------------------------|
//! | 5200 8282 8282 8210 | authorised; redirect to `redirectConfirmUrl`; `authorized` hook  |
//! | 5555 5555 5555 4444 | authorised                                                      |
//! | 4242 4242 4242 4242 | authorised                                                      |
//! | 4000 0000 0000 0341 | refused: `expired` with `lastEligibilityFeedback: DECLINED_FRAUD`, redirect to `redirectCancelUrl`, `expired` hook |
//! | 4000 0000 0000 0002 | refused, likewise                                               |
//! | 4000 0000 0000 9995 | refused, likewise                                               |
//!
//! Choices where Scalapay publishes nothing:
//! - Any other card number that passes the Luhn check is refused like the negative cards (a
//!   sandbox takes no real card); a number failing it, a past expiry or a bad CVV re-shows the
//!   form with an error (422) and leaves the order as it was. "Annuler" sends the customer to
//!   `redirectCancelUrl` and leaves the order to expire.
//! - Every refusal gives the one documented feedback, `DECLINED_FRAUD` (Scalapay never says
//!   more, "for privacy reasons").
//! - Amounts are strings with a dot and at most two decimals (`"190.00"`), in EUR only; the
//!   documentation's `190,00` is refused (`string.pattern.base`).
//! - `orderExpiryMilliseconds` above the contract's (the sandbox's `order_expiry_ms`) is a
//!   validation error (`number.max`).
//! - Idempotency keys are one space for all POSTs: the same key with another path or body is a
//!   validation error on the `Idempotency-Key` header (`any.invalid`); only successes are
//!   replayed, so a failed request can be retried with its key.
//! - State errors use the documented `pre_condition_failed` (400): capturing, delaying or
//!   voiding an order that is not authorised (a delay also needs a capture still `pending`),
//!   refunding one that is not charged. A refund above what is left is `api_validationerror`
//!   on `refundAmount.amount` (`number.max`); a capture above the total, on `amount.amount`.
//! - A capture sets the order `charged`; a void sets it `expired` with capture `voided` (as
//!   Scalapay's reporting shows such orders); refunds set `partially_refunded` or `refunded`.
//!   Delays and voids send no webhook (none is documented); a lapsed authorisation sends
//!   `expired`, as the webhook documentation says, while the order reads `refunded_not_charged`.
//! - `GET /_sandbox/orders` lists every order as `GET /v2/payments/{token}` shows it
//!   (sandbox only).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Form, Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use rand::{Rng, distr::Alphanumeric};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::{
    locale::Locale,
    money::{Currency, Money},
};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::providers::scalapay::wire::{
    self, Amount, CaptureRequest, CaptureResponse, CaptureStatus, DelayRequest, DelayResponse, ErrorBody,
    ErrorMessage, FieldError, IDEMPOTENCY_HEADER, OrderCreated, OrderDetails, OrderRequest, OrderStatus,
    Payment, REPLAYED_HEADER, ReferenceMatch, RefundRequest, RefundResponse, SIGNATURE_HEADER,
    TIMESTAMP_HEADER, ValidationMessage, VoidRequest, VoidResponse, Webhook, WebhookAmount,
};

/// How the sandbox runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// Where it listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How long an order waits for the customer when the request does not say, and the
    /// largest `orderExpiryMilliseconds` accepted (the contract's): 2 400 000 (40 minutes).
    pub order_expiry_ms: u64,
    /// The contract's largest order, in cents.
    pub max_order_amount_minor: u64,
    /// Where webhooks go, as set in Scalapay's Partner Portal; by default the verifier's own
    /// `/webhooks/scalapay`.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

/// The merchant's key and webhook endpoint, as set in Scalapay's Partner Portal.
#[derive(Debug, Clone)]
pub struct Merchant {
    /// The API key: Bearer token and webhook signing key.
    pub api_key: String,
    /// Where webhooks go.
    pub webhook_url: String,
}

/// A documented test card and what it does.
#[derive(Debug, Clone, Copy)]
pub struct TestCard {
    /// The number, grouped as printed.
    pub number: &'static str,
    /// What paying with it does.
    pub outcome: CardOutcome,
}

/// What paying with a test card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOutcome {
    /// The order is authorised.
    Authorises,
    /// Scalapay refuses the customer; the order expires.
    Refused,
}

impl CardOutcome {
    /// What it means, for the demo's printout.
    pub fn describe(self) -> &'static str {
        match self {
            CardOutcome::Authorises => "authorised, then captured: paid (any future expiry, any CVV)",
            CardOutcome::Refused => "refused (DECLINED_FRAUD): failed",
        }
    }
}

/// The seed's test cards.
pub const TEST_CARDS: &[TestCard] = &[
    TestCard { number: "5200 8282 8282 8210", outcome: CardOutcome::Authorises },
    TestCard { number: "5555 5555 5555 4444", outcome: CardOutcome::Authorises },
    TestCard { number: "4242 4242 4242 4242", outcome: CardOutcome::Authorises },
    TestCard { number: "4000 0000 0000 0341", outcome: CardOutcome::Refused },
    TestCard { number: "4000 0000 0000 0002", outcome: CardOutcome::Refused },
    TestCard { number: "4000 0000 0000 9995", outcome: CardOutcome::Refused },
];

/// The one refusal reason Scalapay documents.
pub const REFUSAL_FEEDBACK: &str = "DECLINED_FRAUD";

fn card_outcome(digits: &str) -> CardOutcome {
    TEST_CARDS
        .iter()
        .find(|c| c.number.replace(' ', "") == digits)
        .map_or(CardOutcome::Refused, |c| c.outcome)
}

#[derive(Debug, Clone)]
struct Order {
    token: String,
    seq: u64,
    created: OffsetDateTime,
    request: OrderRequest,
    total: Money,
    status: OrderStatus,
    capture_status: CaptureStatus,
    feedback: Option<String>,
    captured_minor: u64,
    refunded_minor: u64,
    expires_at: OffsetDateTime,
    authorization_expiry_at: Option<OffsetDateTime>,
}

impl Order {
    fn details(&self) -> OrderDetails {
        OrderDetails::from(&self.request)
    }

    fn view(&self) -> Payment {
        Payment {
            token: self.token.clone(),
            created: Some(stamp(self.created)),
            status: self.status,
            capture_status: Some(self.capture_status),
            last_eligibility_feedback: self.feedback.clone(),
            total_amount: Some(self.request.total_amount.clone()),
            order_details: Some(self.details()),
        }
    }

    fn webhook(&self, status: OrderStatus, with_details: bool) -> Webhook {
        Webhook {
            merchant_reference: self.request.merchant_reference.clone(),
            total_amount: Some(WebhookAmount::number_of(self.total)),
            status,
            order_token: self.token.clone(),
            order_details: with_details.then(|| self.details()),
        }
    }

    fn is_authorised(&self) -> bool {
        self.status == OrderStatus::Authorized
            && matches!(self.capture_status, CaptureStatus::Pending | CaptureStatus::Delayed)
    }
}

#[derive(Debug, Default)]
struct Book {
    orders: HashMap<String, Order>,
    next_seq: u64,
    /// Idempotency key → (method and path, body, the success answered).
    replies: HashMap<String, (String, Value, Value)>,
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
pub struct ScalapaySandbox {
    addr: SocketAddr,
}

impl ScalapaySandbox {
    /// Binds the listener and serves in the background.
    pub async fn start(config: SandboxConfig, merchant: Merchant) -> anyhow::Result<ScalapaySandbox> {
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
        super::common::serve(listener, app, "Scalapay");
        Ok(ScalapaySandbox { addr })
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn router(inner: Shared) -> Router {
    let faults = axum::middleware::from_fn_with_state(inner.misbehave.clone(), super::common::api_faults);
    Router::new()
        .route("/v2/orders", post(create_order))
        .route("/v2/payments/references", get(references))
        .route("/v2/payments/capture", post(capture))
        .route("/v2/payments/{token}", get(details))
        .route("/v2/payments/{token}/delay", post(delay))
        .route("/v2/payments/{token}/refund", post(refund))
        .route("/v2/payments/{token}/void", post(void))
        .route_layer(faults)
        .merge(super::common::admin_routes(inner.misbehave.clone()))
        .route("/checkout/{token}", get(page).post(pay))
        .route("/checkout/{token}/cancel", post(cancel))
        .route("/_sandbox/orders", get(list))
        .with_state(inner)
}

// ---------------------------------------------------------------------------------------------
// Helpers: time, randomness, the book, errors.

fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, Book> {
    // Each write to the book completes under the lock without awaiting, so a poisoned lock
    // holds consistent data.
    inner.book.lock().unwrap_or_else(|p| p.into_inner())
}

fn stamp(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn random(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

fn new_token() -> String {
    random(10).to_uppercase()
}

fn error_response(status: StatusCode, code: &str, message: Option<ErrorMessage>) -> Response {
    let body = ErrorBody {
        error_code: code.into(),
        error_id: format!("error-{}", random(13).to_lowercase()),
        message,
        http_status_code: status.as_u16(),
    };
    (status, Json(body)).into_response()
}

fn text_error(status: StatusCode, code: &str, message: &str) -> Response {
    error_response(status, code, Some(ErrorMessage::Text(message.into())))
}

fn validation_error(errors: Vec<FieldError>) -> Response {
    let message = ValidationMessage { status: 400, status_text: "Bad Request".into(), errors };
    error_response(StatusCode::BAD_REQUEST, "api_validationerror", Some(ErrorMessage::Validation(message)))
}

fn field_error(path: &[&str], location: &str, message: String, kind: &str) -> FieldError {
    FieldError {
        field: path.iter().map(|s| (*s).to_owned()).collect(),
        location: location.into(),
        messages: vec![message],
        types: vec![kind.into()],
    }
}

fn not_found(token: &str) -> Response {
    text_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_token", &format!("Order {token} not found."))
}

fn precondition(message: String) -> Response {
    text_error(StatusCode::BAD_REQUEST, "pre_condition_failed", &message)
}

fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|v| v.trim() == inner.merchant.api_key)
}

/// Scalapay's 401: the bare JSON string, not the error envelope.
fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(Value::String("Unauthorized".into()))).into_response()
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn json_body(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice::<Value>(body).map_err(|e| {
        Box::new(validation_error(vec![field_error(
            &[],
            "body",
            format!("\"value\" must be valid JSON: {e}"),
            "object.base",
        )]))
    })
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

/// The success answered before under `key` for this same request, or a refusal when the key
/// was used for another request.
fn replayed(book: &Book, key: Option<&str>, route: &str, body: &Value) -> Option<Response> {
    let (first_route, first_body, reply) = book.replies.get(key?)?;
    if first_route != route || first_body != body {
        return Some(validation_error(vec![field_error(
            &[IDEMPOTENCY_HEADER],
            "header",
            "\"Idempotency-Key\" was already used for another request".into(),
            "any.invalid",
        )]));
    }
    let mut resp = (StatusCode::OK, Json(reply.clone())).into_response();
    resp.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    Some(resp)
}

fn remember(book: &mut Book, key: Option<String>, route: String, body: Value, reply: &Value) {
    if let Some(key) = key {
        book.replies.insert(key, (route, body, reply.clone()));
    }
}

// ---------------------------------------------------------------------------------------------
// Validation, Joi style.

#[derive(Debug, Default)]
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, path: &[&str], message: String, kind: &str) {
        self.errors.push(field_error(path, "body", message, kind));
    }

    fn label<'a>(path: &[&'a str]) -> &'a str {
        path.last().copied().unwrap_or("value")
    }

    fn get<'v>(root: &'v Value, path: &[&str]) -> Option<&'v Value> {
        path.iter().try_fold(root, |v, key| match v {
            Value::Object(map) => map.get(*key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }

    /// A required object.
    fn object(&mut self, root: &Value, path: &[&str]) -> bool {
        match Self::get(root, path) {
            None | Some(Value::Null) => {
                self.fail(path, format!("\"{}\" is required", Self::label(path)), "any.required");
                false
            }
            Some(Value::Object(_)) => true,
            Some(_) => {
                self.fail(path, format!("\"{}\" must be of type object", Self::label(path)), "object.base");
                false
            }
        }
    }

    /// A string, required or not; returns it when present and valid.
    fn string(&mut self, root: &Value, path: &[&str], required: bool) -> Option<String> {
        let label = Self::label(path);
        match Self::get(root, path) {
            None | Some(Value::Null) if required => {
                self.fail(path, format!("\"{label}\" is required"), "any.required");
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(path, format!("\"{label}\" is not allowed to be empty"), "any.empty");
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.fail(path, format!("\"{label}\" must be a string"), "string.base");
                None
            }
        }
    }

    /// A positive integer, required or not, at most `max`.
    fn integer(&mut self, root: &Value, path: &[&str], required: bool, max: Option<u64>) -> Option<u64> {
        let label = Self::label(path);
        match Self::get(root, path) {
            None | Some(Value::Null) if required => {
                self.fail(path, format!("\"{label}\" is required"), "any.required");
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(0) | None => {
                    self.fail(path, format!("\"{label}\" must be greater than or equal to 1"), "number.min");
                    None
                }
                Some(v) if max.is_some_and(|m| v > m) => {
                    let m = max.unwrap_or_default();
                    self.fail(path, format!("\"{label}\" must be less than or equal to {m}"), "number.max");
                    None
                }
                Some(v) => Some(v),
            },
            Some(_) => {
                self.fail(path, format!("\"{label}\" must be a number"), "number.base");
                None
            }
        }
    }

    /// An amount object in euros, required or not.
    fn amount(&mut self, root: &Value, path: &[&str], required: bool) -> Option<Money> {
        match Self::get(root, path) {
            None | Some(Value::Null) if !required => return None,
            _ => {}
        }
        if !self.object(root, path) {
            return None;
        }
        let amount_path = [path, &["amount"]].concat();
        let currency_path = [path, &["currency"]].concat();
        let amount = self.string(root, &amount_path, true);
        let currency = self.string(root, &currency_path, true);
        if let Some(c) = &currency
            && c != Currency::Eur.code()
        {
            self.fail(&currency_path, "\"currency\" must be [EUR]".into(), "any.only");
            return None;
        }
        let amount = amount?;
        currency?;
        let valid = amount.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && amount.split_once('.').is_none_or(|(_, d)| !d.is_empty() && d.len() <= 2);
        match Money::from_decimal_str(&amount, Currency::Eur) {
            Ok(m) if valid => Some(m),
            _ => {
                self.fail(
                    &amount_path,
                    format!("\"amount\" with value \"{amount}\" fails to match the required pattern"),
                    "string.pattern.base",
                );
                None
            }
        }
    }

    fn email(&mut self, root: &Value, path: &[&str]) {
        if let Some(e) = self.string(root, path, true) {
            let ok = e.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            }) && !e.contains(char::is_whitespace);
            if !ok {
                self.fail(path, format!("\"{}\" must be a valid email", Self::label(path)), "string.email");
            }
        }
    }

    fn uri(&mut self, root: &Value, path: &[&str]) {
        if let Some(u) = self.string(root, path, true)
            && (!(u.starts_with("https://") || u.starts_with("http://")) || u.contains(char::is_whitespace))
        {
            self.fail(path, format!("\"{}\" must be a valid uri", Self::label(path)), "string.uri");
        }
    }

    fn one_of(&mut self, root: &Value, path: &[&str], allowed: &[&str]) {
        if let Some(v) = self.string(root, path, false)
            && !allowed.contains(&v.as_str())
        {
            let list = allowed.join(", ");
            self.fail(path, format!("\"{}\" must be one of [{list}]", Self::label(path)), "any.only");
        }
    }
}

/// Checks a `POST /v2/orders` body as Scalapay documents it; the total when valid.
fn check_order(body: &Value, max_expiry_ms: u64) -> Result<Money, Vec<FieldError>> {
    let mut c = Check::default();
    if !body.is_object() {
        c.fail(&[], "\"value\" must be of type object".into(), "object.base");
        return Err(c.errors);
    }
    let total = c.amount(body, &["totalAmount"], true);
    if c.object(body, &["consumer"]) {
        for f in ["phoneNumber", "givenNames", "surname"] {
            c.string(body, &["consumer", f], true);
        }
        c.email(body, &["consumer", "email"]);
    }
    if c.object(body, &["shipping"]) {
        for f in ["phoneNumber", "name", "postcode", "suburb", "line1"] {
            c.string(body, &["shipping", f], true);
        }
        if let Some(cc) = c.string(body, &["shipping", "countryCode"], true)
            && (cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()))
        {
            c.fail(
                &["shipping", "countryCode"],
                format!("\"countryCode\" with value \"{cc}\" fails to match the required pattern"),
                "string.pattern.base",
            );
        }
    }
    match Check::get(body, &["billing"]) {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => c.fail(&["billing"], "\"billing\" must be of type object".into(), "object.base"),
    }
    match Check::get(body, &["items"]) {
        None | Some(Value::Null) => c.fail(&["items"], "\"items\" is required".into(), "any.required"),
        Some(Value::Array(items)) if items.is_empty() => {
            c.fail(&["items"], "\"items\" must contain at least 1 items".into(), "array.min")
        }
        Some(Value::Array(items)) => {
            for i in 0..items.len() {
                let index = i.to_string();
                let at = |f: &'static str| [String::from("items"), index.clone(), f.to_owned()];
                for f in ["name", "category", "sku"] {
                    let p = at(f);
                    c.string(body, &[p[0].as_str(), p[1].as_str(), p[2].as_str()], true);
                }
                let q = at("quantity");
                c.integer(body, &[q[0].as_str(), q[1].as_str(), q[2].as_str()], true, None);
                let p = at("price");
                c.amount(body, &[p[0].as_str(), p[1].as_str(), p[2].as_str()], true);
            }
        }
        Some(_) => c.fail(&["items"], "\"items\" must be an array".into(), "array.base"),
    }
    if c.object(body, &["merchant"]) {
        c.uri(body, &["merchant", "redirectConfirmUrl"]);
        c.uri(body, &["merchant", "redirectCancelUrl"]);
    }
    c.string(body, &["merchantReference"], false);
    c.amount(body, &["shippingAmount"], false);
    c.amount(body, &["taxAmount"], false);
    c.one_of(body, &["type"], &["online", "offline", "link"]);
    c.one_of(body, &["product"], &["pay-in-3", "pay-in-4", "later"]);
    c.integer(body, &["orderExpiryMilliseconds"], false, Some(max_expiry_ms));
    match (total, c.errors.is_empty()) {
        (Some(total), true) => Ok(total),
        _ => Err(c.errors),
    }
}

// ---------------------------------------------------------------------------------------------
// Webhooks and lapses.

/// Sends a signed webhook in the background as the sandbox's misbehaviour plan says (by
/// default: once, retried with exponential backoff until it is answered 200, five tries).
fn send_webhook(inner: &Shared, hook: Webhook) {
    let inner = inner.clone();
    tokio::spawn(async move {
        let Ok(body) = serde_json::to_vec(&hook) else { return };
        let plan = inner.misbehave.webhook_plan(&String::from_utf8_lossy(&body));
        if !plan.wait().await {
            return;
        }
        for _ in 0..plan.copies {
            post_signed(&inner, &body, plan.bad_signature).await;
        }
        if plan.stale_after && hook.status != OrderStatus::Created {
            // The order as it was when created, arriving after it moved on.
            let stale = Webhook { status: OrderStatus::Created, order_details: None, ..hook };
            if let Ok(stale) = serde_json::to_vec(&stale) {
                post_signed(&inner, &stale, plan.bad_signature).await;
            }
        }
    });
}

/// Posts one webhook, signed afresh on every try (with a wrong key when `forged`).
async fn post_signed(inner: &Inner, body: &[u8], forged: bool) {
    let key =
        if forged { format!("{}-not-it", inner.merchant.api_key) } else { inner.merchant.api_key.clone() };
    for attempt in 0..5u32 {
        // The timestamp is when the signature was generated.
        let timestamp = (now().unix_timestamp_nanos() / 1_000_000).to_string();
        let signature = wire::sign(&key, &timestamp, body);
        let sent = inner
            .http
            .post(&inner.merchant.webhook_url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .header(TIMESTAMP_HEADER, &timestamp)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == StatusCode::OK => return,
            Ok(r) => tracing::warn!(status = %r.status(), attempt, "sandbox webhook refused"),
            Err(e) => tracing::warn!(error = %e, attempt, "sandbox webhook not delivered"),
        }
        tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// The order's expiry: a created order expires, an authorised one not delayed lapses.
    Order,
    /// A delayed authorisation's expiry.
    Authorization(OffsetDateTime),
}

fn schedule(inner: &Shared, token: String, at: OffsetDateTime, deadline: Deadline) {
    let inner = inner.clone();
    tokio::spawn(async move {
        let wait = (at - now()).max(time::Duration::ZERO);
        tokio::time::sleep(Duration::try_from(wait).unwrap_or_default()).await;
        lapse(&inner, &token, deadline);
    });
}

/// Applies a deadline that has passed, once; sends the `expired` webhook when it did.
fn lapse(inner: &Shared, token: &str, deadline: Deadline) {
    let hook = {
        let mut book = lock(inner);
        let Some(o) = book.orders.get_mut(token) else { return };
        match deadline {
            Deadline::Order if now() < o.expires_at => return,
            Deadline::Order if o.status == OrderStatus::Created => {
                o.status = OrderStatus::Expired;
            }
            Deadline::Order
                if o.status == OrderStatus::Authorized && o.capture_status == CaptureStatus::Pending =>
            {
                o.status = OrderStatus::RefundedNotCharged;
                o.capture_status = CaptureStatus::Voided;
            }
            Deadline::Authorization(at)
                if o.status == OrderStatus::Authorized
                    && o.capture_status == CaptureStatus::Delayed
                    && o.authorization_expiry_at == Some(at) =>
            {
                o.status = OrderStatus::RefundedNotCharged;
                o.capture_status = CaptureStatus::Voided;
            }
            _ => return,
        }
        o.webhook(OrderStatus::Expired, false)
    };
    send_webhook(inner, hook);
}

// ---------------------------------------------------------------------------------------------
// The Orders API.

async fn create_order(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let total = match check_order(&value, inner.config.order_expiry_ms) {
        Ok(t) => t,
        Err(errors) => return validation_error(errors),
    };
    if total.minor() > inner.config.max_order_amount_minor {
        return text_error(
            StatusCode::BAD_REQUEST,
            "order_amount_exceeds_maximum_limit",
            "The order amount exceeds the maximum limit allowed for the merchant.",
        );
    }
    let request: OrderRequest = match serde_json::from_value(value.clone()) {
        Ok(r) => r,
        Err(e) => {
            return validation_error(vec![field_error(&[], "body", e.to_string(), "object.base")]);
        }
    };
    let key = idempotency_key(&headers);
    let (created, hook, expires_at) = {
        let mut book = lock(&inner);
        if let Some(resp) = replayed(&book, key.as_deref(), "POST /v2/orders", &value) {
            return resp;
        }
        let created_at = now();
        let expiry = request.order_expiry_milliseconds.unwrap_or(inner.config.order_expiry_ms);
        let expires_at = created_at + Duration::from_millis(expiry);
        let token = new_token();
        book.next_seq += 1;
        let order = Order {
            token: token.clone(),
            seq: book.next_seq,
            created: created_at,
            request,
            total,
            status: OrderStatus::Created,
            capture_status: CaptureStatus::Pending,
            feedback: None,
            captured_minor: 0,
            refunded_minor: 0,
            expires_at,
            authorization_expiry_at: None,
        };
        let created = OrderCreated {
            token: token.clone(),
            expires: Some(stamp(expires_at)),
            checkout_url: Some(format!("{}/checkout/{token}", inner.base_url)),
        };
        let reply = to_json(&created);
        remember(&mut book, key, "POST /v2/orders".into(), value, &reply);
        let hook = order.webhook(OrderStatus::Created, true);
        book.orders.insert(token, order);
        (created, hook, expires_at)
    };
    schedule(&inner, created.token.clone(), expires_at, Deadline::Order);
    send_webhook(&inner, hook);
    (StatusCode::OK, Json(created)).into_response()
}

async fn details(State(inner): State<Shared>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    match lock(&inner).orders.get(&token) {
        Some(o) => Json(o.view()).into_response(),
        None => not_found(&token),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferenceQuery {
    order_token: Option<String>,
    merchant_order_reference: Option<String>,
    merchant_processor_reference: Option<String>,
}

async fn references(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ReferenceQuery>,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let (token, reference, processor) =
        (given(&q.order_token), given(&q.merchant_order_reference), given(&q.merchant_processor_reference));
    if token.is_none() && reference.is_none() && processor.is_none() {
        return validation_error(vec![field_error(
            &[],
            "query",
            "\"value\" must contain at least one of [orderToken, merchantOrderReference, merchantProcessorReference]"
                .into(),
            "object.missing",
        )]);
    }
    let book = lock(&inner);
    let mut found: Vec<&Order> = book
        .orders
        .values()
        .filter(|o| token.as_ref().is_none_or(|t| *t == o.token))
        .filter(|o| reference.is_none() || o.request.merchant_reference == reference)
        // The sandbox sets no processor reference: a search by one finds nothing.
        .filter(|_| processor.is_none())
        .collect();
    found.sort_by_key(|o| std::cmp::Reverse(o.seq));
    let rows: Vec<ReferenceMatch> = found
        .into_iter()
        .take(100)
        .map(|o| ReferenceMatch {
            order_token: o.token.clone(),
            merchant_order_reference: o.request.merchant_reference.clone(),
            merchant_processor_reference: None,
            created_at: Some(stamp(o.created)),
        })
        .collect();
    Json(rows).into_response()
}

async fn capture(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut c = Check::default();
    let token = c.string(&value, &["token"], true);
    let amount = c.amount(&value, &["amount"], false);
    c.string(&value, &["merchantReference"], false);
    let (Some(token), true) = (token, c.errors.is_empty()) else { return validation_error(c.errors) };
    let Ok(req) = serde_json::from_value::<CaptureRequest>(value.clone()) else {
        return validation_error(vec![field_error(&[], "body", "invalid body".into(), "object.base")]);
    };
    let key = idempotency_key(&headers);
    let (reply, hook) = {
        let mut book = lock(&inner);
        if let Some(resp) = replayed(&book, key.as_deref(), "POST /v2/payments/capture", &value) {
            return resp;
        }
        let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
        if !o.is_authorised() {
            return precondition(format!(
                "Order {token} cannot be captured in status {}",
                status_text(o.status)
            ));
        }
        let captured = amount.unwrap_or(o.total);
        if captured.minor() > o.total.minor() {
            return validation_error(vec![field_error(
                &["amount", "amount"],
                "body",
                format!("\"amount\" must be less than or equal to {}", o.total.to_decimal_string()),
                "number.max",
            )]);
        }
        if let Some(r) = req.merchant_reference {
            o.request.merchant_reference = Some(r);
        }
        o.status = OrderStatus::Charged;
        o.capture_status = CaptureStatus::Captured;
        o.captured_minor = captured.minor();
        let reply = CaptureResponse {
            token: o.token.clone(),
            status: wire::OperationStatus::Approved,
            total_amount: Some(Amount::of(captured)),
            order_details: Some(o.details()),
            captured_at: Some(stamp(now())),
        };
        let hook = o.webhook(OrderStatus::Charged, false);
        let reply = to_json(&reply);
        remember(&mut book, key, "POST /v2/payments/capture".into(), value, &reply);
        (reply, hook)
    };
    send_webhook(&inner, hook);
    Json(reply).into_response()
}

fn status_text(s: OrderStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

async fn delay(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut c = Check::default();
    c.integer(&value, &["authorizationExpiryMilliseconds"], true, None);
    c.string(&value, &["merchantReference"], false);
    let (Ok(req), true) = (serde_json::from_value::<DelayRequest>(value.clone()), c.errors.is_empty()) else {
        return validation_error(c.errors);
    };
    let key = idempotency_key(&headers);
    let route = format!("POST /v2/payments/{token}/delay");
    let (reply, until) = {
        let mut book = lock(&inner);
        if let Some(resp) = replayed(&book, key.as_deref(), &route, &value) {
            return resp;
        }
        let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
        if o.status != OrderStatus::Authorized || o.capture_status != CaptureStatus::Pending {
            return precondition(format!(
                "Order {token} cannot be delayed in status {}",
                status_text(o.status)
            ));
        }
        let until = now() + Duration::from_millis(req.authorization_expiry_milliseconds);
        if let Some(r) = req.merchant_reference {
            o.request.merchant_reference = Some(r);
        }
        o.capture_status = CaptureStatus::Delayed;
        o.authorization_expiry_at = Some(until);
        let reply = to_json(&DelayResponse {
            token: o.token.clone(),
            status: wire::OperationStatus::Authorized,
            authorization_expiry_at: Some(stamp(until)),
            total_amount: Some(o.request.total_amount.clone()),
            order_details: Some(o.details()),
        });
        remember(&mut book, key, route, value, &reply);
        (reply, until)
    };
    schedule(&inner, token, until, Deadline::Authorization(until));
    Json(reply).into_response()
}

async fn void(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    // The body is optional.
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match json_body(&body) {
            Ok(v) => v,
            Err(resp) => return *resp,
        }
    };
    let mut c = Check::default();
    c.string(&value, &["merchantReference"], false);
    let (Ok(req), true) = (serde_json::from_value::<VoidRequest>(value.clone()), c.errors.is_empty()) else {
        return validation_error(c.errors);
    };
    let key = idempotency_key(&headers);
    let route = format!("POST /v2/payments/{token}/void");
    let mut book = lock(&inner);
    if let Some(resp) = replayed(&book, key.as_deref(), &route, &value) {
        return resp;
    }
    let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
    if !o.is_authorised() {
        return precondition(format!("Order {token} cannot be voided in status {}", status_text(o.status)));
    }
    if let Some(r) = req.merchant_reference {
        o.request.merchant_reference = Some(r);
    }
    o.status = OrderStatus::Expired;
    o.capture_status = CaptureStatus::Voided;
    let reply = to_json(&VoidResponse {
        token: o.token.clone(),
        merchant_reference: o.request.merchant_reference.clone(),
        voided_at: Some(stamp(now())),
    });
    remember(&mut book, key, route, value, &reply);
    Json(reply).into_response()
}

async fn refund(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorized();
    }
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut c = Check::default();
    let amount = c.amount(&value, &["refundAmount"], true);
    c.string(&value, &["merchantRefundReference"], false);
    let (Some(amount), Ok(req), true) =
        (amount, serde_json::from_value::<RefundRequest>(value.clone()), c.errors.is_empty())
    else {
        return validation_error(c.errors);
    };
    let key = idempotency_key(&headers);
    let route = format!("POST /v2/payments/{token}/refund");
    let (reply, hook) = {
        let mut book = lock(&inner);
        if let Some(resp) = replayed(&book, key.as_deref(), &route, &value) {
            return resp;
        }
        let Some(o) = book.orders.get_mut(&token) else { return not_found(&token) };
        if !matches!(o.status, OrderStatus::Charged | OrderStatus::PartiallyRefunded) {
            return precondition(format!(
                "Order {token} cannot be refunded in status {}",
                status_text(o.status)
            ));
        }
        let left = o.captured_minor.saturating_sub(o.refunded_minor);
        if amount.minor() > left {
            let left = Money::new(left, Currency::Eur)
                .map(Money::to_decimal_string)
                .unwrap_or_else(|_| "0.00".into());
            return validation_error(vec![field_error(
                &["refundAmount", "amount"],
                "body",
                format!("\"amount\" must be less than or equal to {left}"),
                "number.max",
            )]);
        }
        o.refunded_minor += amount.minor();
        o.status = if o.refunded_minor == o.captured_minor {
            OrderStatus::Refunded
        } else {
            OrderStatus::PartiallyRefunded
        };
        let reply = to_json(&RefundResponse {
            token: o.token.clone(),
            amount: Some(Amount::of(amount)),
            merchant_reference: o.request.merchant_reference.clone(),
            merchant_refund_reference: req.merchant_refund_reference,
            refund_token: Some(new_token()),
            refunded_at: Some(stamp(now())),
        });
        let hook = o.webhook(o.status, true);
        remember(&mut book, key, route, value, &reply);
        (reply, hook)
    };
    send_webhook(&inner, hook);
    Json(reply).into_response()
}

async fn list(State(inner): State<Shared>) -> Json<Vec<Payment>> {
    let book = lock(&inner);
    let mut orders: Vec<&Order> = book.orders.values().collect();
    orders.sort_by_key(|o| o.seq);
    Json(orders.into_iter().map(Order::view).collect())
}

// ---------------------------------------------------------------------------------------------
// The customer's card page.

/// What the card form posts.
#[derive(Debug, Deserialize)]
pub struct CardForm {
    /// The card number, spaces allowed.
    #[serde(default)]
    pub card_number: String,
    /// `MM/YY` or `MM/YYYY`.
    #[serde(default)]
    pub expiry: String,
    /// 3 or 4 digits.
    #[serde(default)]
    pub cvv: String,
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Why a card form is refused, in the page's words.
fn check_card(form: &CardForm, today: time::Date) -> Result<String, &'static str> {
    let digits: String = form.card_number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || !luhn(&digits) {
        return Err("Numéro de carte invalide.");
    }
    let (month, year) = form.expiry.trim().split_once('/').ok_or("Date d'expiration invalide (MM/AA).")?;
    let month: u8 = month.trim().parse().map_err(|_| "Date d'expiration invalide (MM/AA).")?;
    let year: i32 = match year.trim() {
        y if y.len() == 2 => {
            y.parse::<i32>().map(|y| 2000 + y).map_err(|_| "Date d'expiration invalide (MM/AA).")?
        }
        y if y.len() == 4 => y.parse().map_err(|_| "Date d'expiration invalide (MM/AA).")?,
        _ => return Err("Date d'expiration invalide (MM/AA)."),
    };
    if !(1..=12).contains(&month) {
        return Err("Date d'expiration invalide (MM/AA).");
    }
    if (year, month) < (today.year(), u8::from(today.month())) {
        return Err("Cette carte a expiré.");
    }
    let cvv = form.cvv.trim();
    if !(3..=4).contains(&cvv.len()) || !cvv.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Cryptogramme (CVV) invalide.");
    }
    Ok(digits)
}

fn html(status: StatusCode, title: &str, inner: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>
             <title>Scalapay (sandbox)</title><body style='font-family:sans-serif;max-width:28em;margin:2em auto'>
             <h1>Scalapay — sandbox</h1><h2>{title}</h2>{inner}</body></html>"
        )),
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn card_page(o: &Order, error: Option<&str>) -> Response {
    let amount = escape(&o.total.display(Locale::Fr));
    let what = o.request.items.first().map(|i| escape(&i.name)).unwrap_or_default();
    if o.status != OrderStatus::Created {
        let text = match o.status {
            OrderStatus::Authorized | OrderStatus::Charged => {
                "Paiement autorisé. Vous pouvez fermer cette page."
            }
            OrderStatus::Expired if o.feedback.is_some() => "Paiement refusé.",
            _ => "Cette commande n'est plus payable.",
        };
        let status = if o.status == OrderStatus::Authorized || o.status == OrderStatus::Charged {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        };
        return html(status, &amount, &format!("<p id=done>{text}</p>"));
    }
    let token = escape(&o.token);
    let error =
        error.map(|e| format!("<p id=error style='color:#b00'>{}</p>", escape(e))).unwrap_or_default();
    html(
        if error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY },
        &amount,
        &format!(
            "<p>{what} — payez en plusieurs fois.</p>{error}
             <form method=post action='/checkout/{token}'>
               <label>Numéro de carte <input name=card_number autocomplete=cc-number inputmode=numeric required></label><br>
               <label>Expiration (MM/AA) <input name=expiry autocomplete=cc-exp required></label><br>
               <label>CVV <input name=cvv autocomplete=cc-csc inputmode=numeric required></label><br>
               <button id=pay>Payer</button>
             </form>
             <form method=post action='/checkout/{token}/cancel'><button id=cancel>Annuler</button></form>"
        ),
    )
}

fn unknown_order() -> Response {
    html(StatusCode::NOT_FOUND, "Commande inconnue", "<p>Ce lien ne correspond à aucune commande.</p>")
}

async fn page(State(inner): State<Shared>, Path(token): Path<String>) -> Response {
    lapse(&inner, &token, Deadline::Order);
    match lock(&inner).orders.get(&token) {
        Some(o) => card_page(o, None),
        None => unknown_order(),
    }
}

async fn pay(State(inner): State<Shared>, Path(token): Path<String>, Form(form): Form<CardForm>) -> Response {
    // A deadline whose timer has not fired yet still counts.
    lapse(&inner, &token, Deadline::Order);
    let (redirect, hook) = {
        let mut book = lock(&inner);
        let Some(o) = book.orders.get_mut(&token) else { return unknown_order() };
        if o.status != OrderStatus::Created {
            return card_page(o, None);
        }
        let digits = match check_card(&form, now().date()) {
            Ok(d) => d,
            Err(why) => return card_page(o, Some(why)),
        };
        match card_outcome(&digits) {
            CardOutcome::Authorises => {
                o.status = OrderStatus::Authorized;
                (o.request.merchant.redirect_confirm_url.clone(), o.webhook(OrderStatus::Authorized, false))
            }
            CardOutcome::Refused => {
                o.status = OrderStatus::Expired;
                o.feedback = Some(REFUSAL_FEEDBACK.into());
                (o.request.merchant.redirect_cancel_url.clone(), o.webhook(OrderStatus::Expired, false))
            }
        }
    };
    send_webhook(&inner, hook);
    Redirect::to(&redirect).into_response()
}

async fn cancel(State(inner): State<Shared>, Path(token): Path<String>) -> Response {
    match lock(&inner).orders.get(&token) {
        Some(o) => Redirect::to(&o.request.merchant.redirect_cancel_url).into_response(),
        None => unknown_order(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_body() -> Value {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/scalapay/order_request.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn the_documented_order_passes_and_each_required_field_is_checked() {
        let body = order_body();
        assert_eq!(check_order(&body, 2_400_000).unwrap().minor(), 19_000);
        let required = [
            "/totalAmount",
            "/consumer/phoneNumber",
            "/consumer/givenNames",
            "/consumer/surname",
            "/consumer/email",
            "/items",
            "/items/0/name",
            "/items/0/category",
            "/items/0/sku",
            "/items/0/quantity",
            "/items/0/price",
            "/merchant/redirectConfirmUrl",
            "/merchant/redirectCancelUrl",
            "/shipping/phoneNumber",
            "/shipping/countryCode",
            "/shipping/name",
            "/shipping/postcode",
            "/shipping/suburb",
            "/shipping/line1",
            "/consumer",
            "/shipping",
            "/merchant",
        ];
        for pointer in required {
            let mut b = body.clone();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let target = if parent.is_empty() { &mut b } else { b.pointer_mut(parent).unwrap() };
            target.as_object_mut().unwrap().remove(key);
            let errors = check_order(&b, 2_400_000).unwrap_err();
            let path: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
            assert!(
                errors.iter().any(|e| e.field == path && e.types == ["any.required"]),
                "{pointer}: {errors:?}"
            );
        }
    }

    #[test]
    fn values_are_checked() {
        let body = order_body();
        let with = |pointer: &str, v: Value| {
            let mut b = body.clone();
            *b.pointer_mut(pointer).unwrap() = v;
            check_order(&b, 2_400_000)
                .unwrap_err()
                .into_iter()
                .map(|e| e.types[0].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(with("/totalAmount/amount", json!("")), ["any.empty"]);
        assert_eq!(with("/totalAmount/amount", json!("190,00")), ["string.pattern.base"]);
        assert_eq!(with("/totalAmount/amount", json!("1.005")), ["string.pattern.base"]);
        assert_eq!(with("/totalAmount/amount", json!(190)), ["string.base"]);
        assert_eq!(with("/totalAmount/currency", json!("XOF")), ["any.only"]);
        assert_eq!(with("/consumer/email", json!("awa.example.com")), ["string.email"]);
        assert_eq!(with("/shipping/countryCode", json!("France")), ["string.pattern.base"]);
        assert_eq!(with("/items", json!([])), ["array.min"]);
        assert_eq!(with("/items/0/quantity", json!(0)), ["number.min"]);
        assert_eq!(with("/merchant/redirectConfirmUrl", json!("shop")), ["string.uri"]);
        assert_eq!(with("/orderExpiryMilliseconds", json!(2_400_001)), ["number.max"]);
        assert_eq!(with("/type", json!("kiosk")), ["any.only"]);
    }

    #[test]
    fn cards_are_checked() {
        let today = time::macros::date!(2025 - 03 - 14);
        let form =
            |n: &str, e: &str, c: &str| CardForm { card_number: n.into(), expiry: e.into(), cvv: c.into() };
        for card in TEST_CARDS {
            let digits = check_card(&form(card.number, "12/30", "123"), today).unwrap();
            assert_eq!(card_outcome(&digits), card.outcome);
        }
        assert_eq!(card_outcome("4111111111111111"), CardOutcome::Refused);
        assert!(check_card(&form("4242 4242 4242 4241", "12/30", "123"), today).is_err());
        assert!(check_card(&form("4242424242424242", "02/25", "123"), today).is_err());
        assert!(check_card(&form("4242424242424242", "03/25", "1234"), today).is_ok());
        assert!(check_card(&form("4242424242424242", "13/30", "123"), today).is_err());
        assert!(check_card(&form("4242424242424242", "12/2030", "12"), today).is_err());
    }
}
