//! The Scalapay sandbox: the Orders API v2 (`POST /v2/orders`, `GET /v2/payments/{token}`,
//! `GET /v2/payments/references`, `POST /v2/payments/capture`, `POST /v2/payments/{token}/delay`,
//! `/refund` and `/void`), the customer's card page at each order's `checkoutUrl`
//! (`/checkout/{token}`), and webhooks signed as Scalapay signs them: `x-scalapay-hmac-v1`, the
//! hex HMAC-SHA256 keyed with the merchant's API key over `V1:{x-scalapay-timestamp}:{body}`,
//! the body being the compact JSON sent.
//!
//! As documented (https://developers.scalapay.com/reference/messages-validation, `/reference/webhooks`, `/reference/wehook-data-model`): Bearer API key, and a 401 whose body is the
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
//! ([`crate::misbehave`]; its out-of-order webhook is a `created` one after the order moved on).
//! Every published error code is producible: `api_validationerror` (an invalid order),
//! `invalid_token` (an unknown token), `order_amount_exceeds_maximum_limit` (past
//! `max_order_amount_minor`) and the bare `"Unauthorized"` 401 by a request;
//! `pre_condition_failed`, `conflicting_operation_in_progress` and `internal_server` also
//! through the `refuse` mode ([`ERROR_CODES`], or `"401"`). Capture and delay answers carry the
//! `orderDetails` of their schemas (consumer, total and reference; the reference only).
//!
//! Test cards (the reference's; any future expiry `MM/YY`, any 3- or 4-digit CVV):
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
    Router,
    routing::{get, post},
};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::common::Running;

mod answers;
mod checkout;
pub mod euros;
mod routes;
#[cfg(test)]
mod tests;
mod validate;
mod webhooks;
pub mod wire;

use answers::stamp;
use checkout::{cancel, page, pay};
use routes::{
    capture, create_order, delay, details, list, references, refund, unknown_route, update_order, void,
};
use wire::{CaptureStatus, OrderDetails, OrderRequest, OrderStatus, Payment, Webhook, WebhookAmount};

/// How the sandbox runs.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where it listens (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How long an order waits for the customer when the request does not say, and the
    /// largest `orderExpiryMilliseconds` accepted (the contract's): 2 400 000 (40 minutes).
    pub order_expiry_ms: u64,
    /// The contract's largest order, in cents.
    pub max_order_amount_minor: u64,
}

impl Default for SandboxConfig {
    /// Any free port on 127.0.0.1, the documented 40-minute order expiry, orders up to 2 000 €.
    fn default() -> SandboxConfig {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            order_expiry_ms: wire::DEFAULT_ORDER_EXPIRY_MS,
            max_order_amount_minor: 200_000,
        }
    }
}

/// The merchant's key and webhook endpoint, as set in Scalapay's Partner Portal.
#[derive(Clone)]
pub struct Merchant {
    /// The API key: Bearer token and webhook signing key.
    pub api_key: String,
    /// Where webhooks go.
    pub webhook_url: String,
}

impl std::fmt::Debug for Merchant {
    /// The key redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("api_key", &"[REDACTED]")
            .field("webhook_url", &self.webhook_url)
            .finish()
    }
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

/// The reference's test cards.
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
    total: euros::Cents,
    status: OrderStatus,
    capture_status: CaptureStatus,
    feedback: Option<String>,
    captured_minor: u64,
    refunded_minor: u64,
    expires_at: OffsetDateTime,
    authorization_expiry_at: Option<OffsetDateTime>,
    /// `merchantProcessorReference`, set by Update order.
    processor_reference: Option<String>,
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
    misbehave: Arc<crate::misbehave::Misbehaviours>,
}

type Shared = Arc<Inner>;

/// The published error codes (Scalapay's OpenAPI, as harvested in
/// github.com/api-evangelist/scalapay `errors/scalapay-error-codes.yml`) and the status the
/// sandbox answers each with, for the `refuse` mode ([`crate::misbehave`]);
/// `order_amount_exceeds_maximum_limit`, printed with a 4XX class only, as the order route
/// answers it. `"401"` answers the bare JSON string `"Unauthorized"`.
pub const ERROR_CODES: &[(&str, u16)] = &[
    ("api_validationerror", 400),
    ("pre_condition_failed", 400),
    ("order_amount_exceeds_maximum_limit", 400),
    ("invalid_token", 422),
    ("conflicting_operation_in_progress", 409),
    ("internal_server", 500),
];

/// The `refuse` mode's answer: a code of [`ERROR_CODES`] in Scalapay's error envelope, or
/// `"401"`.
pub fn refusal(code: &str, _path: &str) -> Option<axum::response::Response> {
    if code == "401" {
        return Some(answers::unauthorized());
    }
    let &(code, status) = ERROR_CODES.iter().find(|(c, _)| *c == code)?;
    Some(answers::text_error(
        axum::http::StatusCode::from_u16(status).ok()?,
        code,
        "Refused by the sandbox (refuse mode)",
    ))
}

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
        misbehave: Arc::new(crate::misbehave::Misbehaviours::refusing_with(refusal)),
    });
    Ok(crate::common::serve(listener, router(inner), "Scalapay", ""))
}

fn router(inner: Shared) -> Router {
    let faults = axum::middleware::from_fn_with_state(inner.misbehave.clone(), crate::misbehave::api_faults);
    Router::new()
        .route("/v2/orders", post(create_order))
        .route("/v2/orders/{token}", post(update_order))
        .route("/v2/payments/references", get(references))
        .route("/v2/payments/capture", post(capture))
        .route("/v2/payments/{token}", get(details))
        .route("/v2/payments/{token}/delay", post(delay))
        .route("/v2/payments/{token}/refund", post(refund))
        .route("/v2/payments/{token}/void", post(void))
        .route_layer(faults)
        .merge(crate::misbehave::admin_routes(inner.misbehave.clone()))
        .route("/checkout/{token}", get(page).post(pay))
        .route("/checkout/{token}/cancel", post(cancel))
        .route("/_sandbox/orders", get(list))
        .fallback(unknown_route)
        .with_state(inner)
}
