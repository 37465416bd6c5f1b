//! Scalapay: card and pay-later orders in euros. An order is created (`POST /v2/orders`, Bearer
//! API key) and the customer authorises it on Scalapay's page at `checkoutUrl`; the verifier
//! then captures it (`POST /v2/payments/capture`), or, when the merchant delays captures,
//! extends the authorisation (`POST /v2/payments/{token}/delay`) and captures it later (an
//! order voided on Scalapay's side reads as refused). Status comes from `GET /v2/payments/{token}` and from webhooks signed with
//! `x-scalapay-hmac-v1` (hex HMAC-SHA256 keyed with the API key over `V1:{timestamp}:{body}`).
//! Refunds, partial and full, go through `POST /v2/payments/{token}/refund`.
//!
//! What the verifier needs from the merchant, because Scalapay requires it on every order:
//! - the consumer's `given_names`, `surname`, `email` and `phone` (E.164) in the checkout's
//!   `customer`. A checkout without all four is refused before any call, as
//!   [`ErrorCode::MethodUnavailable`] with provider code `consumer_details_missing: …`;
//! - a shipping address: the checkout has none, so [`Settings::shipping`] gives the merchant's
//!   (click and collect, digital goods); its recipient is the consumer;
//! - one item per order: the checkout's description (or "Order"), category
//!   [`Settings::item_category`], the attempt's reference as SKU, priced at the total.
//!
//! Sources: <https://developers.scalapay.com/reference/webhooks>, `/reference/messages-validation`,
//! `/reference/get_v2-payments-token-1`, `/docs/delayed-capture-flow`, Scalapay's errors and
//! order-status page (French), and the harvest of Scalapay's OpenAPI in
//! github.com/api-evangelist/scalapay; the examples the adapter is tested against are in
//! `server/tests/fixtures/scalapay/` (its `README.md` says where each comes from).
//!
//! Choices where Scalapay's public material is silent or contradictory:
//! - `merchantReference` is our attempt's reference: webhooks carry it, and an order whose
//!   creation answer was lost is found with `GET /v2/payments/references?merchantOrderReference=`
//!   (the order's details do not repeat `checkoutUrl`, so such an attempt has no payment page
//!   and is left to expire).
//! - Idempotency keys: the reference for the order, `{reference}:capture` and `:delay`
//!   for the operations on it, and our refund id for a refund; whether Scalapay scopes keys per
//!   endpoint is not documented, so no two calls share one.
//! - Statuses: `created`/`pending` → awaiting the customer; `authorized` → authorised (then
//!   captured, or delayed); `charged`, `partially_refunded`, `refunded` → succeeded (refunds are
//!   the checkout's business); `expired` with a `lastEligibilityFeedback` or a voided capture →
//!   failed ([`ErrorCode::PaymentRefused`]: Scalapay never says why); `expired` otherwise → expired;
//!   `refunded_not_charged` → failed with [`ErrorCode::ProviderUnavailable`]: the order-status
//!   page says these orders were authorised but never captured "à cause de problèmes
//!   techniques", unlike `expired` ones (abandoned or refused by the bank), so it is neither the
//!   customer's lapse nor a refusal; unknown values change nothing.
//! - Webhooks: the signature is checked over the raw body, then over the body without
//!   whitespace (what `JSON.stringify` of the parsed payload gives). No replay window is
//!   documented and none is invented: the timestamp is only part of the signed string, and a
//!   replayed notification is deduplicated by the inbox (same body) and applied through the
//!   state machine, which ignores a state already left.
//!   `created`, `authorized`, `charged` and `refunded` are applied as they say; `expired` and
//!   unknown statuses make the verifier fetch the order, which tells a refusal from a lapse.
//! - With `delay_capture`, the delay call is made when the verifier learns of the
//!   authorisation, by fetching the order (an `authorized` webhook then triggers a fetch).
//! - A 401 (body `"Unauthorized"`) and any 4xx without the error envelope are integration
//!   errors; 5xx and `conflicting_operation_in_progress` leave the outcome unknown.
//! - Errors are classified by `errorCode` and the HTTP status only ([`error_class`]), never by
//!   `message`, which the errors page says may change ("ne l'utilisez pas pour la logique
//!   d'application"). A refund's `api_validationerror` is an invalid refund amount (the amount
//!   is the only value a refund request carries), its `pre_condition_failed` a refund the order
//!   does not allow.

use std::time::Duration;

use async_trait::async_trait;
use hmac::Mac;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shared::{
    catalogue::ErrorCode,
    limits,
    method::{PaymentMethod, Provider},
    money::{Currency, Money},
    phone::Country,
    status::{AttemptStatus, RefundStatus},
};

use super::{
    IncomingNotice, PaymentProvider, ProviderError, RefundRequest, RefundResult, StartPayment,
    VerifiedNotice, WebhookError,
    budget::Budget,
    http::{self, Budgeted},
};
use crate::{
    config::{Deployment, KeyForm, Mode},
    store::{AttemptUpdate, Reported},
};

pub mod wire;

use wire::{
    Address, Amount, CaptureRequest, CaptureResponse, CaptureStatus, Consumer, DelayRequest, DelayResponse,
    IDEMPOTENCY_HEADER, Item, MerchantUrls, OperationStatus, OrderCreated, OrderRequest, OrderStatus,
    OrderType, Payment, ReferenceMatch, RefundResponse, SIGNATURE_HEADER, TIMESTAMP_HEADER, Webhook,
};

/// Scalapay's endpoint, key and the merchant's choices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `test` (Scalapay's integration environment or a sandbox) or `live` (on [`LIVE_URL`]);
    /// checked by [`crate::config::Settings::validate`].
    pub mode: Mode,
    /// Live mode only: accept a `base_url` other than [`LIVE_URL`] (an egress proxy).
    #[serde(default)]
    pub allow_custom_host: bool,
    /// `https://api.scalapay.com` in production, `https://integration.api.scalapay.com` for
    /// tests (or a local simulator's URL).
    pub base_url: String,
    /// The merchant's API key: the Bearer token, and the key of webhook signatures.
    pub api_key: SecretString,
    /// During a key rotation: the API key used before `api_key`, whose webhook signatures are
    /// still accepted until `webhook_secret_previous_until` ([`crate::providers::rotation`]).
    #[serde(default)]
    pub webhook_secret_previous: Option<SecretString>,
    /// When the previous key's signatures stop being accepted (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub webhook_secret_previous_until: Option<time::OffsetDateTime>,
    /// Keep authorisations for a later capture instead of capturing at once.
    #[serde(default)]
    pub delay_capture: bool,
    /// How long a delayed authorisation stands (`authorizationExpiryMilliseconds`); Scalapay's
    /// default is 432 000 000 (5 days).
    #[serde(default = "default_authorization_expiry_ms")]
    pub authorization_expiry_ms: u64,
    /// How long an order waits for the customer (`orderExpiryMilliseconds`); not sent when
    /// absent (Scalapay then applies the contract's, 40 minutes).
    #[serde(default)]
    pub order_expiry_ms: Option<u64>,
    /// The item category sent with every order (e.g. `clothes`).
    pub item_category: String,
    /// The shipping address sent with every order.
    pub shipping: ShippingAddress,
    /// Request timeout.
    pub timeout_ms: u64,
}

/// Scalapay's production API (<https://developers.scalapay.com/>, "Environments").
pub const LIVE_URL: &str = "https://api.scalapay.com";
/// Scalapay's integration (test) API's host.
pub const TEST_HOST: &str = "integration.api.scalapay.com";
/// The test keys Scalapay publishes for everyone (its API simulator's sandbox key, and the
/// in-store test device's), <https://developers.scalapay.com/>: never a live merchant's key.
pub const PUBLISHED_TEST_KEYS: &[&str] = &["qhtfs87hjnc12kkos", "testdeviceapikey"];

impl Settings {
    /// What the configuration's validation checks. A merchant's own keys carry no documented
    /// test or live mark (production keys are only "usually" `sp_`), so the host decides, except
    /// for the published test keys, which are test keys wherever they point.
    pub fn deployment(&self) -> Deployment<'_> {
        let key = self.api_key.expose_secret().trim();
        let form = if PUBLISHED_TEST_KEYS.contains(&key) { KeyForm::Test } else { KeyForm::Unmarked };
        Deployment {
            section: "scalapay",
            name: "Scalapay",
            mode: self.mode,
            allow_custom_host: self.allow_custom_host,
            base_url: &self.base_url,
            live_url: LIVE_URL,
            test_host: Some(TEST_HOST),
            keys: vec![("api_key", form)],
        }
    }
}

fn default_authorization_expiry_ms() -> u64 {
    wire::DEFAULT_AUTHORIZATION_EXPIRY_MS
}

/// The address orders are shipped to (the merchant's shop for click and collect).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    /// First address line.
    pub line1: String,
    /// City.
    pub suburb: String,
    /// Postal code.
    pub postcode: String,
    /// ISO 3166-1 alpha-2, e.g. `FR`.
    pub country_code: String,
}

/// The Scalapay adapter.
#[derive(Debug)]
pub struct Scalapay {
    base_url: String,
    api_key: SecretString,
    webhook_secrets: super::rotation::WebhookSecrets,
    delay_capture: bool,
    authorization_expiry_ms: u64,
    order_expiry_ms: Option<u64>,
    item_category: String,
    shipping: ShippingAddress,
    http: http::Client,
}

/// Which call an error answered, for calls whose errors mean something of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `POST /v2/orders`.
    Order,
    /// `GET /v2/payments/{token}` and `/v2/payments/references`.
    Status,
    /// Capture, delay, void.
    Operation,
    /// `POST /v2/payments/{token}/refund`.
    Refund,
}

/// What an error code means for the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A refusal, final, with the catalogue's code.
    Refused(ErrorCode),
    /// The outcome is not known yet: try again later with the same idempotency key.
    RetryLater,
    /// Our request or the order's state is wrong: an operator must act.
    Integration,
    /// Scalapay knows no such order.
    NotFound,
}

/// The class of a published Scalapay error code (`server/tests/fixtures/scalapay/error_codes.tsv`)
/// answering `call`; `None` for a code Scalapay does not publish.
pub fn error_class(code: &str, call: Call) -> Option<ErrorClass> {
    use ErrorClass::*;
    Some(match (code.trim(), call) {
        ("conflicting_operation_in_progress", _) | ("internal_server", _) => RetryLater,
        ("invalid_token", _) => NotFound,
        ("api_validationerror", Call::Refund) => Refused(ErrorCode::InvalidRefundAmount),
        ("pre_condition_failed", Call::Refund) => Refused(ErrorCode::RefundNotAllowed),
        // A capture, delay or void we built wrong, or an order not in a state for it.
        ("api_validationerror" | "pre_condition_failed", Call::Operation | Call::Status) => Integration,
        (other, _) => Refused(ErrorCode::from_provider_code(Provider::Scalapay, other)?),
    })
}

impl Scalapay {
    /// An adapter for the endpoint and key of `settings`.
    pub fn new(settings: &Settings) -> anyhow::Result<Scalapay> {
        Ok(Scalapay {
            webhook_secrets: super::rotation::WebhookSecrets::new(
                "scalapay",
                &settings.api_key,
                settings.webhook_secret_previous.as_ref(),
                settings.webhook_secret_previous_until,
            )?,
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            api_key: settings.api_key.clone(),
            delay_capture: settings.delay_capture,
            authorization_expiry_ms: settings.authorization_expiry_ms,
            order_expiry_ms: settings.order_expiry_ms,
            item_category: settings.item_category.clone(),
            shipping: settings.shipping.clone(),
            // Scalapay states no request limit: no budget beyond its `Retry-After`s (see
            // [`super::budget`]).
            http: http::Client::new(
                Provider::Scalapay,
                Duration::from_millis(settings.timeout_ms),
                Budget::unlimited(),
            )?,
        })
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.bearer_auth(self.api_key.expose_secret()).header(reqwest::header::ACCEPT, "application/json")
    }

    /// Sends a POST with its idempotency key and reads a success of type `T`.
    async fn post<B: serde::Serialize + ?Sized, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        body: &B,
        call: Call,
    ) -> Result<T, ProviderError> {
        let resp = self
            .authed(self.http.post(format!("{}{path}", self.base_url)))
            .header(IDEMPOTENCY_HEADER, key)
            .json(body)
            .send_via(&self.http)
            .await?;
        read(resp, call).await
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ProviderError> {
        let resp = self
            .authed(self.http.get(format!("{}{path}", self.base_url)))
            .query(query)
            .send_via(&self.http)
            .await?;
        read(resp, Call::Status).await
    }

    /// The newest order Scalapay holds under our reference, if any.
    async fn token_by_reference(&self, reference: &str) -> Result<Option<String>, ProviderError> {
        let found: Vec<ReferenceMatch> =
            self.get("/v2/payments/references", &[("merchantOrderReference", reference)]).await?;
        Ok(found.into_iter().next().map(|m| m.order_token))
    }

    async fn token(
        &self,
        reference: &str,
        provider_reference: Option<&str>,
    ) -> Result<String, ProviderError> {
        match provider_reference {
            Some(token) => Ok(token.to_owned()),
            None => self.token_by_reference(reference).await?.ok_or_else(|| {
                ProviderError::Integration(format!("Scalapay holds no order for {reference}"))
            }),
        }
    }

    /// `GET /v2/payments/{token}`; `None` when Scalapay says the token is unknown.
    async fn payment(&self, token: &str) -> Result<Option<Payment>, ProviderError> {
        match self.get::<Payment>(&format!("/v2/payments/{}", path_segment(token)), &[]).await {
            Ok(p) => Ok(Some(p)),
            Err(ProviderError::Refused { provider_code, .. }) if provider_code == "invalid_token" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Extends an authorisation for a later capture (`/delay`), under its own idempotency key.
    pub async fn delay(&self, reference: &str, token: &str) -> Result<DelayResponse, ProviderError> {
        let body = DelayRequest {
            authorization_expiry_milliseconds: self.authorization_expiry_ms,
            merchant_reference: Some(reference.to_owned()),
        };
        let path = format!("/v2/payments/{}/delay", path_segment(token));
        self.post(&path, &format!("{reference}:delay"), &body, Call::Operation).await
    }

    /// The `POST /v2/orders` body for a payment, or why it cannot be built.
    pub fn order_request(&self, req: &StartPayment) -> Result<OrderRequest, ProviderError> {
        if req.money.currency() != Currency::Eur {
            return Err(ProviderError::Refused {
                code: ErrorCode::MethodUnavailable,
                provider_code: format!("currency_not_supported: {}", req.money.currency()),
            });
        }
        if let Err(e) = limits::check(Provider::Scalapay, req.money) {
            return Err(ProviderError::Refused { code: e.code(), provider_code: format!("limits: {e}") });
        }
        let consumer = consumer_of(req.customer.as_ref())?;
        let total = Amount::of(req.money);
        let name = req.description.as_deref().map(str::trim).filter(|d| !d.is_empty()).unwrap_or("Order");
        Ok(OrderRequest {
            total_amount: total.clone(),
            shipping: Address {
                name: format!("{} {}", consumer.given_names, consumer.surname),
                line1: self.shipping.line1.clone(),
                suburb: self.shipping.suburb.clone(),
                postcode: self.shipping.postcode.clone(),
                country_code: self.shipping.country_code.clone(),
                phone_number: consumer.phone_number.clone(),
            },
            consumer,
            billing: None,
            items: vec![Item {
                name: name.chars().take(255).collect(),
                category: self.item_category.clone(),
                subcategory: Vec::new(),
                brand: None,
                gtin: None,
                sku: req.reference.clone(),
                quantity: 1,
                price: total,
            }],
            discounts: Vec::new(),
            merchant: MerchantUrls {
                redirect_confirm_url: req.return_url.clone(),
                redirect_cancel_url: req.return_url.clone(),
            },
            merchant_reference: Some(req.reference.clone()),
            shipping_amount: None,
            tax_amount: None,
            order_type: Some(OrderType::Online),
            order_expiry_milliseconds: self.order_expiry_ms,
        })
    }
}

/// A token as one path segment: Scalapay's tokens are alphanumeric; anything else is escaped.
fn path_segment(token: &str) -> String {
    token
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The consumer Scalapay requires, from the merchant's customer details: all four fields.
fn consumer_of(customer: Option<&shared::api::Customer>) -> Result<Consumer, ProviderError> {
    let field = |v: Option<&String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let given = field(customer.and_then(|c| c.given_names.as_ref()));
    let surname = field(customer.and_then(|c| c.surname.as_ref()));
    let email = field(customer.and_then(|c| c.email.as_ref()));
    let phone = field(customer.and_then(|c| c.phone.as_ref()));
    match (given, surname, email, phone) {
        (Some(given_names), Some(surname), Some(email), Some(phone_number)) => {
            Ok(Consumer { phone_number, given_names, surname, email })
        }
        (given, surname, email, phone) => {
            let missing: Vec<&str> = [
                ("given_names", given.is_none()),
                ("surname", surname.is_none()),
                ("email", email.is_none()),
                ("phone", phone.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
            Err(ProviderError::Refused {
                code: ErrorCode::MethodUnavailable,
                provider_code: format!("consumer_details_missing: {}", missing.join(", ")),
            })
        }
    }
}

/// Reads a success body, or classifies the failure.
async fn read<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    call: Call,
) -> Result<T, ProviderError> {
    let status = resp.status();
    let body = resp.bytes().await.map_err(http::transport)?;
    interpret(status.as_u16(), &body, call)
}

/// An answer, read: the body of a 2XX, or what an error means.
fn interpret<T: serde::de::DeserializeOwned>(
    status: u16,
    body: &[u8],
    call: Call,
) -> Result<T, ProviderError> {
    if (200..300).contains(&status) {
        // A success we cannot read may still have moved money: outcome unknown.
        return serde_json::from_slice(body)
            .map_err(|e| ProviderError::Unavailable(format!("unreadable Scalapay answer: {e}")));
    }
    Err(classify_error(status, body, call))
}

/// Maps an error answer to what the verifier does with it (the errors page's HTTP classes: 4XX the
/// request is invalid, 5XX Scalapay failed).
fn classify_error(status: u16, body: &[u8], call: Call) -> ProviderError {
    // Only the code and the id are read: `message` may take any shape ("pourrait être mis à
    // jour") and must not make the envelope unreadable.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope {
        error_code: String,
        #[serde(default)]
        error_id: String,
    }
    let parsed: Option<Envelope> = serde_json::from_slice(body).ok();
    let Some(err) = parsed else {
        return match status {
            429 | 500..=599 => ProviderError::Unavailable(format!("Scalapay answered {status}")),
            401 | 403 => ProviderError::Integration(format!("Scalapay refused our API key ({status})")),
            _ => ProviderError::Integration(format!("Scalapay answered {status} with an unknown body")),
        };
    };
    let code = err.error_code.clone();
    match (status, error_class(&code, call)) {
        // Too many requests (RFC 6585): retry later, never a refusal.
        (429 | 500..=599, _) | (_, Some(ErrorClass::RetryLater)) => {
            ProviderError::Unavailable(format!("Scalapay answered {status} ({code}, {})", err.error_id))
        }
        (401 | 403, _) => ProviderError::Integration(format!("Scalapay refused our API key ({code})")),
        (_, Some(ErrorClass::NotFound)) if call == Call::Status => {
            ProviderError::Refused { code: ErrorCode::PaymentRefused, provider_code: code }
        }
        (_, Some(ErrorClass::NotFound)) => {
            ProviderError::Integration(format!("Scalapay knows no such order ({})", err.error_id))
        }
        (_, Some(ErrorClass::Integration)) => {
            ProviderError::Integration(format!("Scalapay refused the operation ({code}, {})", err.error_id))
        }
        (_, Some(ErrorClass::Refused(catalogue))) => {
            ProviderError::Refused { code: catalogue, provider_code: code }
        }
        // An unpublished code: a 4XX is an invalid request (the errors page's table).
        (400..=499, None) if call == Call::Order || call == Call::Refund => {
            ProviderError::Refused { code: ErrorCode::PaymentRefused, provider_code: code }
        }
        _ => ProviderError::Integration(format!("Scalapay answered {status} ({code})")),
    }
}

/// What an order's details say about our attempt.
pub fn to_update(p: &Payment) -> AttemptUpdate {
    let (status, failure) = match (p.status, p.capture_status) {
        (_, Some(CaptureStatus::Captured)) if p.status != OrderStatus::Expired => {
            (AttemptStatus::Succeeded, None)
        }
        (OrderStatus::Created | OrderStatus::Pending, _) => (AttemptStatus::AwaitingCustomer, None),
        (OrderStatus::Authorized, _) => (AttemptStatus::Authorized, None),
        (OrderStatus::Charged | OrderStatus::PartiallyRefunded | OrderStatus::Refunded, _) => {
            (AttemptStatus::Succeeded, None)
        }
        (OrderStatus::Expired, capture)
            if p.last_eligibility_feedback.is_some() || capture == Some(CaptureStatus::Voided) =>
        {
            let code = ErrorCode::from_provider_code(Provider::Scalapay, "expired")
                .unwrap_or(ErrorCode::PaymentRefused);
            (AttemptStatus::Failed, Some(code))
        }
        (OrderStatus::Expired, _) => (AttemptStatus::Expired, Some(ErrorCode::SessionExpired)),
        // Authorised but never captured, "à cause de problèmes techniques" (order-status page).
        (OrderStatus::RefundedNotCharged, _) => (AttemptStatus::Failed, Some(ErrorCode::ProviderUnavailable)),
        // A status Scalapay added since: nothing is concluded from it.
        (OrderStatus::Unknown, _) => (AttemptStatus::AwaitingCustomer, None),
    };
    AttemptUpdate {
        status,
        failure,
        provider_reference: Some(p.token.clone()),
        payment_url: None,
        reported: reported(p.total_amount.as_ref(), p.order_details.as_ref()),
    }
}

/// The money an order's details or a capture answer report. Scalapay's order is one
/// `totalAmount` (`{amount: "190.00", currency: "EUR"}`, a decimal string) that the shopper
/// pays in instalments, with no fee on the merchant's order
/// (https://developers.scalapay.com/reference/get_v2-payments-token-1; fixtures
/// `server/tests/fixtures/scalapay/payment_charged.json` and `capture.json`): that total is
/// compared with the checkout's amount, and our reference is `orderDetails.merchantReference`.
fn reported(total: Option<&wire::Amount>, details: Option<&wire::OrderDetails>) -> Reported {
    let total = total.or_else(|| details.and_then(|d| d.total_amount.as_ref()));
    Reported::read(
        total.map(|t| t.amount.as_str()),
        total.map(|t| t.currency.as_str()),
        Currency::Eur,
        details.and_then(|d| d.merchant_reference.as_deref()),
    )
}

/// The money a webhook reports: `totalAmount`, "always present" and a JSON number (`40.7`) in
/// Scalapay's webhook data model (https://developers.scalapay.com/reference/wehook-data-model;
/// fixture `server/tests/fixtures/scalapay/webhook_authorized.json`), in the order's currency
/// (EUR, the only one Scalapay takes here), and `merchantReference`.
fn webhook_reported(w: &Webhook) -> Reported {
    let (amount, currency) = match &w.total_amount {
        Some(wire::WebhookAmount::Number(n)) => (Some(n.to_string()), None),
        Some(wire::WebhookAmount::Object(a)) => (Some(a.amount.clone()), Some(a.currency.as_str())),
        None => (None, None),
    };
    Reported::read(amount.as_deref(), currency, Currency::Eur, w.merchant_reference.as_deref())
}

/// What a verified webhook says, when it is explicit enough to apply as is.
fn webhook_update(w: &Webhook, delay_capture: bool) -> Option<AttemptUpdate> {
    let status = match w.status {
        OrderStatus::Created | OrderStatus::Pending => AttemptStatus::AwaitingCustomer,
        // With delayed captures, the fetch that follows makes the delay call.
        OrderStatus::Authorized if delay_capture => return None,
        OrderStatus::Authorized => AttemptStatus::Authorized,
        OrderStatus::Charged | OrderStatus::PartiallyRefunded | OrderStatus::Refunded => {
            AttemptStatus::Succeeded
        }
        // A refusal or a lapse: only the order's details tell which.
        OrderStatus::Expired | OrderStatus::RefundedNotCharged | OrderStatus::Unknown => return None,
    };
    Some(AttemptUpdate {
        status,
        failure: None,
        provider_reference: Some(w.order_token.clone()),
        payment_url: None,
        reported: webhook_reported(w),
    })
}

/// Checks a webhook's signature against `api_key`: HMAC-SHA256 over `V1:{timestamp}:{body}`,
/// the body as sent or re-serialised. The timestamp is signed, not bounded (no window is
/// documented).
pub fn verify_signature(
    api_key: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<(), WebhookError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let timestamp = header(TIMESTAMP_HEADER).filter(|t| !t.is_empty()).ok_or(WebhookError::BadSignature)?;
    let presented =
        header(SIGNATURE_HEADER).and_then(|v| hex::decode(v).ok()).ok_or(WebhookError::BadSignature)?;
    let matches = |payload: &[u8]| {
        wire::mac(api_key, timestamp, payload).is_some_and(|m| m.verify_slice(&presented).is_ok())
    };
    if matches(body) || matches(&wire::minify(body)) { Ok(()) } else { Err(WebhookError::BadSignature) }
}

#[async_trait]
impl PaymentProvider for Scalapay {
    fn id(&self) -> Provider {
        Provider::Scalapay
    }

    fn budget(&self) -> &Budget {
        self.http.budget()
    }

    fn calls(&self) -> &http::CallLog {
        self.http.calls()
    }

    /// A Scalapay order waits up to 40 minutes for the customer (order-status page): 10 s, backing off
    /// to 5 min.
    fn poll_policy(&self) -> super::PollPolicy {
        super::PollPolicy { floor_ms: 10_000, max_ms: 300_000 }
    }

    /// The order's own expiry: `orderExpiryMilliseconds` when set, else Scalapay's 40 minutes
    /// ([`wire::DEFAULT_ORDER_EXPIRY_MS`]).
    fn confirmation_window(&self, _method: PaymentMethod) -> Option<Duration> {
        Some(Duration::from_millis(self.order_expiry_ms.unwrap_or(wire::DEFAULT_ORDER_EXPIRY_MS)))
    }

    fn methods(&self, _country: Country, money: Money) -> Vec<PaymentMethod> {
        // Scalapay serves its European customers whatever the checkout's country: only the
        // currency and the amount decide.
        if limits::check(Provider::Scalapay, money).is_ok() { vec![PaymentMethod::Card] } else { Vec::new() }
    }

    async fn start(&self, req: &StartPayment) -> Result<AttemptUpdate, ProviderError> {
        let body = self.order_request(req)?;
        let created: OrderCreated = self.post("/v2/orders", &req.reference, &body, Call::Order).await?;
        Ok(AttemptUpdate {
            provider_reference: Some(created.token),
            payment_url: created.checkout_url,
            ..AttemptUpdate::new(AttemptStatus::AwaitingCustomer, None)
        })
    }

    async fn fetch(
        &self,
        reference: &str,
        provider_reference: Option<&str>,
    ) -> Result<Option<AttemptUpdate>, ProviderError> {
        let token = match provider_reference {
            Some(t) => t.to_owned(),
            None => match self.token_by_reference(reference).await? {
                Some(t) => t,
                None => return Ok(None),
            },
        };
        let Some(mut payment) = self.payment(&token).await? else { return Ok(None) };
        if self.delay_capture
            && payment.status == OrderStatus::Authorized
            && matches!(payment.capture_status, None | Some(CaptureStatus::Pending))
        {
            match self.delay(reference, &token).await {
                Ok(d) if d.status == OperationStatus::Authorized => {
                    payment.capture_status = Some(CaptureStatus::Delayed)
                }
                Ok(d) => tracing::warn!(token = %token, status = ?d.status, "unexpected answer to a delay"),
                // Still authorised: the next fetch tries again.
                Err(e) => tracing::warn!(token = %token, error = %e, "delaying the capture failed"),
            }
        }
        Ok(Some(to_update(&payment)))
    }

    fn claimed_references(&self, body: &[u8]) -> Vec<String> {
        super::strings_at(body, &["/merchantReference", "/orderToken"])
    }

    fn verify_notice(&self, notice: &IncomingNotice<'_>) -> Result<VerifiedNotice, WebhookError> {
        // During a key rotation, the previous key's signatures too, until their deadline.
        if !self.webhook_secrets.any(|key| verify_signature(key, notice.headers, notice.body).is_ok()) {
            return Err(WebhookError::BadSignature);
        }
        let hook: Webhook =
            serde_json::from_slice(notice.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let reference = hook
            .merchant_reference
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| hook.order_token.clone());
        Ok(VerifiedNotice { reference, update: webhook_update(&hook, self.delay_capture), ack: None })
    }

    fn delays_capture(&self) -> bool {
        self.delay_capture
    }

    async fn capture(
        &self,
        reference: &str,
        provider_reference: Option<&str>,
        amount: Money,
    ) -> Result<AttemptUpdate, ProviderError> {
        let token = self.token(reference, provider_reference).await?;
        let body = CaptureRequest {
            token: token.clone(),
            amount: Some(Amount::of(amount)),
            merchant_reference: Some(reference.to_owned()),
        };
        let captured: CaptureResponse = self
            .post("/v2/payments/capture", &format!("{reference}:capture"), &body, Call::Operation)
            .await?;
        match captured.status {
            OperationStatus::Approved => Ok(AttemptUpdate {
                reported: reported(captured.total_amount.as_ref(), captured.order_details.as_ref()),
                provider_reference: Some(captured.token),
                ..AttemptUpdate::new(AttemptStatus::Succeeded, None)
            }),
            other => Err(ProviderError::Unavailable(format!("Scalapay answered the capture with {other:?}"))),
        }
    }

    async fn refund(&self, req: &RefundRequest) -> Result<RefundResult, ProviderError> {
        if req.amount.currency() != req.paid.currency() || req.amount.minor() > req.paid.minor() {
            return Err(ProviderError::Refused {
                code: ErrorCode::InvalidRefundAmount,
                provider_code: "refund_amount_above_paid".into(),
            });
        }
        let token = self.token(&req.payment_reference, req.provider_reference.as_deref()).await?;
        let body = wire::RefundRequest {
            refund_amount: Amount::of(req.amount),
            merchant_refund_reference: Some(req.refund_id.clone()),
        };
        let path = format!("/v2/payments/{}/refund", path_segment(&token));
        let refunded: RefundResponse = self.post(&path, &req.refund_id, &body, Call::Refund).await?;
        Ok(RefundResult { status: RefundStatus::Succeeded, provider_reference: refunded.refund_token })
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/scalapay/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn settings(delay_capture: bool) -> Settings {
        Settings {
            mode: Mode::Test,
            allow_custom_host: false,
            base_url: "http://unused.invalid/".into(),
            api_key: "qhtfs87hjnc12kkos".to_owned().into(),
            delay_capture,
            authorization_expiry_ms: wire::DEFAULT_AUTHORIZATION_EXPIRY_MS,
            order_expiry_ms: None,
            item_category: "clothes".into(),
            shipping: ShippingAddress {
                line1: "12 rue des Tisserands".into(),
                suburb: "Lyon".into(),
                postcode: "69003".into(),
                country_code: "FR".into(),
            },
            timeout_ms: 1000,
            webhook_secret_previous: None,
            webhook_secret_previous_until: None,
        }
    }

    fn customer() -> shared::api::Customer {
        shared::api::Customer {
            given_names: Some("Awa".into()),
            surname: Some("Koné".into()),
            email: Some("awa.kone@example.com".into()),
            phone: Some("+33612345678".into()),
        }
    }

    fn start(money: Money, customer: Option<shared::api::Customer>) -> StartPayment {
        StartPayment {
            reference: "9b2f6c1e-3f7a-4e55-9d51-2a7e4c1b0c11".into(),
            money,
            phone: None,
            method: PaymentMethod::Card,
            country: Country::Ci,
            customer_name: "Awa Koné".into(),
            customer,
            description: Some("Pagne wax".into()),
            return_url: "https://shop.example.com/pay".into(),
            otp: None,
            callback_base: "https://pay.example.com".into(),
        }
    }

    fn eur(minor: u64) -> Money {
        Money::new(minor, Currency::Eur).unwrap()
    }

    fn payment(status: &str, capture: &str, feedback: Option<&str>) -> Payment {
        let feedback = feedback.map(|f| format!(r#","lastEligibilityFeedback":"{f}""#)).unwrap_or_default();
        serde_json::from_str(&format!(
            r#"{{"token":"T1","status":"{status}","captureStatus":"{capture}"{feedback}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn the_order_is_built_from_the_checkout() {
        let sp = Scalapay::new(&settings(false)).unwrap();
        let body = sp.order_request(&start(eur(19_000), Some(customer()))).unwrap();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["totalAmount"], serde_json::json!({"amount": "190.00", "currency": "EUR"}));
        assert_eq!(json["consumer"]["givenNames"], "Awa");
        assert_eq!(json["shipping"]["name"], "Awa Koné");
        assert_eq!(json["shipping"]["countryCode"], "FR");
        assert_eq!(json["shipping"]["phoneNumber"], "+33612345678");
        assert_eq!(json["items"][0]["name"], "Pagne wax");
        assert_eq!(json["items"][0]["price"]["amount"], "190.00");
        assert_eq!(json["merchant"]["redirectConfirmUrl"], "https://shop.example.com/pay");
        assert_eq!(json["merchant"]["redirectCancelUrl"], "https://shop.example.com/pay");
        assert_eq!(json["merchantReference"], "9b2f6c1e-3f7a-4e55-9d51-2a7e4c1b0c11");
        assert_eq!(json["type"], "online");
        assert!(json.get("orderExpiryMilliseconds").is_none());
        assert_eq!(serde_json::to_value(Amount::of(eur(5))).unwrap()["amount"], "0.05");
    }

    #[test]
    fn missing_consumer_details_are_refused_before_any_call() {
        let sp = Scalapay::new(&settings(false)).unwrap();
        let mut partial = customer();
        partial.email = Some("  ".into());
        partial.phone = None;
        for (who, missing) in [(None, "given_names, surname, email, phone"), (Some(partial), "email, phone")]
        {
            match sp.order_request(&start(eur(1000), who)) {
                Err(ProviderError::Refused { code: ErrorCode::MethodUnavailable, provider_code }) => {
                    assert_eq!(provider_code, format!("consumer_details_missing: {missing}"));
                }
                other => panic!("{other:?}"),
            }
        }
        let xof = Money::new(1000, Currency::Xof).unwrap();
        assert!(matches!(
            sp.order_request(&start(xof, Some(customer()))),
            Err(ProviderError::Refused { code: ErrorCode::MethodUnavailable, .. })
        ));
    }

    #[test]
    fn card_is_offered_in_euros_only() {
        let sp = Scalapay::new(&settings(false)).unwrap();
        assert_eq!(sp.methods(Country::Ci, eur(5000)), vec![PaymentMethod::Card]);
        assert!(sp.methods(Country::Ci, Money::new(5000, Currency::Xof).unwrap()).is_empty());
    }

    #[test]
    fn statuses_map_to_attempt_states() {
        let cases = [
            ("created", "pending", None, AttemptStatus::AwaitingCustomer, None),
            ("pending", "pending", None, AttemptStatus::AwaitingCustomer, None),
            ("authorized", "pending", None, AttemptStatus::Authorized, None),
            ("authorized", "delayed", None, AttemptStatus::Authorized, None),
            ("charged", "captured", None, AttemptStatus::Succeeded, None),
            ("partially_refunded", "captured", None, AttemptStatus::Succeeded, None),
            ("refunded", "captured", None, AttemptStatus::Succeeded, None),
            (
                "expired",
                "pending",
                Some("DECLINED_FRAUD"),
                AttemptStatus::Failed,
                Some(ErrorCode::PaymentRefused),
            ),
            ("expired", "voided", None, AttemptStatus::Failed, Some(ErrorCode::PaymentRefused)),
            ("expired", "pending", None, AttemptStatus::Expired, Some(ErrorCode::SessionExpired)),
            (
                "refunded_not_charged",
                "voided",
                None,
                AttemptStatus::Failed,
                Some(ErrorCode::ProviderUnavailable),
            ),
            ("on_hold", "pending", None, AttemptStatus::AwaitingCustomer, None),
        ];
        for (status, capture, feedback, want, failure) in cases {
            let u = to_update(&payment(status, capture, feedback));
            assert_eq!((u.status, u.failure), (want, failure), "{status}/{capture}/{feedback:?}");
            assert_eq!(u.provider_reference.as_deref(), Some("T1"));
        }
        let charged: Payment = serde_json::from_str(&fixture("payment_charged.json")).unwrap();
        assert_eq!(to_update(&charged).status, AttemptStatus::Succeeded);
        let expired: Payment = serde_json::from_str(&fixture("payment_expired.json")).unwrap();
        let u = to_update(&expired);
        assert_eq!((u.status, u.failure), (AttemptStatus::Failed, Some(ErrorCode::PaymentRefused)));
    }

    /// The errors page's "Codes d'état HTTP" table (2XX, 4XX, 5XX) and every published error code
    /// (`server/tests/fixtures/scalapay/error_codes.tsv`), each classified.
    #[test]
    fn every_documented_error_is_classified() {
        let body = |code: &str, status: u16| {
            format!(r#"{{"errorCode":"{code}","errorId":"error-1","message":"m","httpStatusCode":{status}}}"#)
        };
        // The errors page's table, row by row: 2XX accepted, 4XX invalid request, 5XX Scalapay's
        // error.
        let created = fixture("order_created_docs.json");
        for (class, status) in [("2XX", 200u16), ("4XX", 400), ("5XX", 500)] {
            let answer = if status == 200 { created.to_owned() } else { body("undocumented_code", status) };
            let read: Result<OrderCreated, _> = interpret(status, answer.as_bytes(), Call::Order);
            match (class, read) {
                ("2XX", Ok(o)) => assert_eq!(o.token, "71KH916VPE"),
                ("4XX", Err(ProviderError::Refused { .. })) | ("5XX", Err(ProviderError::Unavailable(_))) => {
                }
                (class, other) => panic!("{class}: {other:?}"),
            }
        }
        // A 2XX we cannot read may have created the order: outcome unknown.
        assert!(matches!(
            interpret::<OrderCreated>(200, b"{}", Call::Order),
            Err(ProviderError::Unavailable(_))
        ));
        // 4XX: the request is invalid.
        let seed_4xx = [
            ("api_validationerror", 400, Some(ErrorCode::MethodUnavailable)),
            ("pre_condition_failed", 400, Some(ErrorCode::MethodUnavailable)),
            ("order_amount_exceeds_maximum_limit", 400, Some(ErrorCode::LimitExceeded)),
            ("undocumented_code", 400, Some(ErrorCode::PaymentRefused)),
        ];
        for (code, status, want) in seed_4xx {
            match classify_error(status, body(code, status).as_bytes(), Call::Order) {
                ProviderError::Refused { code: got, provider_code } => {
                    assert_eq!((Some(got), provider_code.as_str()), (want, code));
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        assert!(matches!(
            classify_error(409, body("conflicting_operation_in_progress", 409).as_bytes(), Call::Order),
            ProviderError::Unavailable(_)
        ));
        assert!(matches!(
            classify_error(422, fixture("error_invalid_token.json").as_bytes(), Call::Operation),
            ProviderError::Integration(_)
        ));
        assert!(matches!(
            classify_error(422, fixture("error_invalid_token.json").as_bytes(), Call::Status),
            ProviderError::Refused { .. }
        ));
        assert!(matches!(
            classify_error(400, fixture("error_validation.json").as_bytes(), Call::Order),
            ProviderError::Refused { code: ErrorCode::MethodUnavailable, .. }
        ));
        assert!(matches!(
            classify_error(400, fixture("error_precondition.json").as_bytes(), Call::Operation),
            ProviderError::Integration(_)
        ));
        assert!(matches!(
            classify_error(400, fixture("error_precondition.json").as_bytes(), Call::Refund),
            ProviderError::Refused { code: ErrorCode::RefundNotAllowed, .. }
        ));
        let too_much = fixture("error_validation.json").replace("totalAmount", "refundAmount");
        assert!(matches!(
            classify_error(400, too_much.as_bytes(), Call::Refund),
            ProviderError::Refused { code: ErrorCode::InvalidRefundAmount, .. }
        ));
        // The 401's bare string body.
        assert!(matches!(
            classify_error(401, br#""Unauthorized""#, Call::Order),
            ProviderError::Integration(_)
        ));
        // 5XX: Scalapay failed; the outcome is unknown.
        assert!(matches!(
            classify_error(500, body("internal_server", 500).as_bytes(), Call::Order),
            ProviderError::Unavailable(_)
        ));
        assert!(matches!(classify_error(502, b"<html>", Call::Order), ProviderError::Unavailable(_)));
        // Every code of the catalogue's Scalapay table is handled by one of the rows above.
        for code in [
            "api_validationerror",
            "pre_condition_failed",
            "order_amount_exceeds_maximum_limit",
            "invalid_token",
            "conflicting_operation_in_progress",
            "internal_server",
        ] {
            let status = match code {
                "invalid_token" => 422,
                "conflicting_operation_in_progress" => 409,
                "internal_server" => 500,
                _ => 400,
            };
            let e = classify_error(status, body(code, status).as_bytes(), Call::Order);
            let expected_unavailable =
                matches!(code, "conflicting_operation_in_progress" | "internal_server");
            assert_eq!(matches!(e, ProviderError::Unavailable(_)), expected_unavailable, "{code}");
        }
    }

    fn signed(key: &str, ts: i64, body: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, ts.to_string().parse().unwrap());
        h.insert(SIGNATURE_HEADER, wire::sign(key, &ts.to_string(), body).parse().unwrap());
        h
    }

    #[test]
    fn verified_notices_say_what_to_apply() {
        let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let key = "qhtfs87hjnc12kkos";
        let notice = |sp: &Scalapay, body: &str| {
            let headers = signed(key, now, body.as_bytes());
            sp.verify_notice(&IncomingNotice {
                headers: &headers,
                body: body.as_bytes(),
                peer: [127, 0, 0, 1].into(),
                path_token: None,
            })
        };
        let at_once = Scalapay::new(&settings(false)).unwrap();
        let delayed = Scalapay::new(&settings(true)).unwrap();
        let authorized = fixture("webhook_authorized.json");
        let v = notice(&at_once, &authorized).unwrap();
        assert_eq!(v.reference, "order-7731");
        let u = v.update.unwrap();
        assert_eq!(
            (u.status, u.provider_reference.as_deref()),
            (AttemptStatus::Authorized, Some("3FJQ8N2WLC"))
        );
        assert!(notice(&delayed, &authorized).unwrap().update.is_none());
        let created = notice(&at_once, &fixture("webhook_created.json")).unwrap();
        assert_eq!(created.update.unwrap().status, AttemptStatus::AwaitingCustomer);
        for (status, explicit) in [
            ("charged", true),
            ("refunded", true),
            ("expired", false),
            ("refunded_not_charged", false),
            ("new_one", false),
        ] {
            let body = authorized.replace("authorized", status);
            let v = notice(&at_once, &body).unwrap();
            assert_eq!(v.update.is_some(), explicit, "{status}");
            if explicit {
                assert_eq!(v.update.unwrap().status, AttemptStatus::Succeeded);
            }
        }
        let without_reference = r#"{"totalAmount":40.7,"status":"charged","orderToken":"3FJQ8N2WLC"}"#;
        assert_eq!(notice(&at_once, without_reference).unwrap().reference, "3FJQ8N2WLC");
        assert!(matches!(notice(&at_once, r#"{"status":"charged"}"#), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn configuration_from_toml_and_environment() {
        use secrecy::ExposeSecret;
        let text = r#"
listen = "127.0.0.1:0"
database_url = "sqlite::memory:"
widget_dir = "target/widget"
[merchant]
name = "Boutique"
secret_key = "mk_file"
[checkout]
default_country = "CI"
ttl_seconds = 1800
[reconcile]
poll_interval_ms = 5000
[scalapay]
mode = "test"
base_url = "https://integration.api.scalapay.com"
api_key = "sp_file_key"
delay_capture = true
item_category = "clothes"
timeout_ms = 30000
[scalapay.shipping]
line1 = "12 rue des Tisserands"
suburb = "Lyon"
postcode = "69003"
country_code = "FR"
"#;
        let s: crate::config::Settings = toml::from_str(text).unwrap();
        assert!(!format!("{s:?}").contains("sp_file_key"), "the key is redacted");
        let sp = s.scalapay.as_ref().unwrap();
        assert!(sp.delay_capture);
        assert_eq!(sp.authorization_expiry_ms, wire::DEFAULT_AUTHORIZATION_EXPIRY_MS);
        assert_eq!(sp.order_expiry_ms, None);
        let s = crate::config::Settings::from_layers(text, [("VERIFIER_SCALAPAY_API_KEY", "sp_env_key")])
            .unwrap();
        assert_eq!(s.scalapay.unwrap().api_key.expose_secret(), "sp_env_key");
        assert!(
            toml::from_str::<crate::config::Settings>(&text.replace("delay_capture", "delay_captures"))
                .is_err()
        );
    }

    #[test]
    fn tokens_are_escaped_in_paths() {
        assert_eq!(path_segment("71KH916VPE"), "71KH916VPE");
        assert_eq!(path_segment("../x"), "%2E%2E%2Fx");
    }
}

#[cfg(test)]
mod money_tests {
    use shared::{
        money::{Currency, Money},
        status::AttemptStatus,
    };

    use super::{to_update, webhook_update, wire};
    use crate::checkouts::{Verdict, check_reported};

    const CHARGED: &str = include_str!("../../../tests/fixtures/scalapay/payment_charged.json");
    const CAPTURE: &str = include_str!("../../../tests/fixtures/scalapay/capture.json");
    const AUTHORIZED: &str = include_str!("../../../tests/fixtures/scalapay/webhook_authorized.json");

    fn eur(minor: u64) -> Money {
        Money::new(minor, Currency::Eur).unwrap()
    }

    #[test]
    fn an_orders_total_is_what_is_checked() {
        let charged: wire::Payment = serde_json::from_str(CHARGED).unwrap();
        let update = to_update(&charged);
        assert_eq!(update.status, AttemptStatus::Succeeded);
        assert_eq!(check_reported(&update.reported, eur(19_000), "order-7731"), Verdict::Matches);
        assert_eq!(check_reported(&update.reported, eur(18_999), "order-7731"), Verdict::Mismatch);
        assert_eq!(check_reported(&update.reported, eur(19_000), "order-7732"), Verdict::Mismatch);
        // The same order in another currency.
        let usd: wire::Payment = serde_json::from_str(&CHARGED.replace("\"EUR\"", "\"USD\"")).unwrap();
        assert_eq!(to_update(&usd).reported.currency.as_deref(), Some("USD"));
        assert_eq!(check_reported(&to_update(&usd).reported, eur(19_000), "order-7731"), Verdict::Mismatch);
    }

    #[test]
    fn a_capture_answer_and_a_webhook_report_their_totals() {
        let captured: wire::CaptureResponse = serde_json::from_str(CAPTURE).unwrap();
        let reported = super::reported(captured.total_amount.as_ref(), captured.order_details.as_ref());
        assert_eq!(check_reported(&reported, eur(19_000), "order-7731"), Verdict::Matches);
        // `{"merchantReference":"order-7731","totalAmount":40.7,"status":"authorized",…}`
        let hook: wire::Webhook = serde_json::from_str(AUTHORIZED).unwrap();
        let update = webhook_update(&hook, false).expect("an authorisation is explicit");
        assert_eq!(update.status, AttemptStatus::Authorized);
        assert_eq!((update.reported.amount, update.reported.currency.as_deref()), (Some(4070), None));
        assert_eq!(check_reported(&update.reported, eur(4070), "order-7731"), Verdict::Matches);
        assert_eq!(check_reported(&update.reported, eur(4700), "order-7731"), Verdict::Mismatch);
    }
}
