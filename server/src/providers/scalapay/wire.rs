//! Scalapay's wire format (Orders API v2, <https://developers.scalapay.com/reference/webhooks> and
//! the OpenAPI harvest in github.com/api-evangelist/scalapay; examples in
//! `server/tests/fixtures/scalapay/`):
//! request and response bodies as they travel, the error envelope, the webhook body and its
//! signature. Status enums keep an `Unknown` for values the documentation does not list
//! (Scalapay warns that its list of statuses may change).
//!
//! Amounts travel as `{"amount": "190.00", "currency": "EUR"}` with the amount a **string**,
//! except in webhooks, where `totalAmount` is a JSON number (`40.7`).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shared::money::{Currency, Money, MoneyError};

/// The webhook signature header (lower-case, as Scalapay advises reading it).
pub const SIGNATURE_HEADER: &str = "x-scalapay-hmac-v1";
/// The webhook timestamp header: Unix milliseconds, part of the signed string.
pub const TIMESTAMP_HEADER: &str = "x-scalapay-timestamp";
/// The signature scheme's version, the signed string's first field.
pub const SIGNATURE_VERSION: &str = "V1";
/// The optional idempotency header of every POST.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Present (`true`) on a response replayed from the idempotency cache.
pub const REPLAYED_HEADER: &str = "Request-Idempotency";
/// The documented default of `authorizationExpiryMilliseconds`: 5 days.
pub const DEFAULT_AUTHORIZATION_EXPIRY_MS: u64 = 432_000_000;
/// How long a created order waits for the customer: 40 minutes (Scalapay's order-status page).
pub const DEFAULT_ORDER_EXPIRY_MS: u64 = 2_400_000;

/// A monetary amount: `{"amount": "190.00", "currency": "EUR"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// Major units as a decimal string.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl Amount {
    /// The wire form of `money`: `"190.00"` for 19 000 cents.
    pub fn of(money: Money) -> Amount {
        Amount { amount: money.to_decimal_string(), currency: money.currency().code().to_owned() }
    }

    /// Reads the amount back, exactly (no float).
    pub fn to_money(&self) -> Result<Money, MoneyError> {
        Money::from_decimal_str(self.amount.trim(), Currency::parse(self.currency.trim())?)
    }
}

/// The shopper (`consumer`): every field is required by `POST /v2/orders`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumer {
    /// With the country code.
    #[serde(default)]
    pub phone_number: String,
    /// First names.
    #[serde(default)]
    pub given_names: String,
    /// Family name.
    #[serde(default)]
    pub surname: String,
    /// E-mail address.
    #[serde(default)]
    pub email: String,
}

/// A shipping or billing address. For `shipping`, every field is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Recipient's name.
    #[serde(default)]
    pub name: String,
    /// First address line.
    #[serde(default)]
    pub line1: String,
    /// Suburb or city.
    #[serde(default)]
    pub suburb: String,
    /// Postal code.
    #[serde(default)]
    pub postcode: String,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country_code: String,
    /// With the country code.
    #[serde(default)]
    pub phone_number: String,
}

/// One line of the order. `name`, `category`, `sku`, `quantity` and `price` are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// What it is.
    pub name: String,
    /// Its category.
    pub category: String,
    /// Sub-categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subcategory: Vec<String>,
    /// Brand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// GTIN (EAN, UPC…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// Stock-keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// Unit price.
    pub price: Amount,
}

/// A discount shown on Scalapay's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discount {
    /// Its value.
    pub amount: Amount,
    /// Its label.
    pub display_name: String,
}

/// Where Scalapay's page sends the customer back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantUrls {
    /// After an authorisation.
    #[serde(default)]
    pub redirect_confirm_url: String,
    /// After a cancellation or a refusal.
    #[serde(default)]
    pub redirect_cancel_url: String,
}

/// `type` of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderType {
    /// An online checkout.
    Online,
    /// In store.
    Offline,
    /// Sent by SMS.
    Link,
}

/// `POST /v2/orders` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRequest {
    /// What the customer pays in all.
    pub total_amount: Amount,
    /// The shopper.
    pub consumer: Consumer,
    /// Billing address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<Address>,
    /// Shipping address (required).
    pub shipping: Address,
    /// The lines (at least one).
    pub items: Vec<Item>,
    /// Discounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<Discount>,
    /// Redirect URLs.
    pub merchant: MerchantUrls,
    /// The merchant's correlation id: ours is the attempt's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    /// Shipping cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_amount: Option<Amount>,
    /// Tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_amount: Option<Amount>,
    /// `online`, `offline` or `link`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub order_type: Option<OrderType>,
    /// How long the order waits for the customer; the maximum is set by the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_expiry_milliseconds: Option<u64>,
}

/// `POST /v2/orders` answer: `{token, expires, checkoutUrl}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    /// The order's token, the handle of every later call.
    pub token: String,
    /// When the order expires (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Scalapay's checkout page for the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_url: Option<String>,
}

/// An order's status (`status` of `GET /v2/payments/{token}` and of webhooks). Scalapay's
/// order-status page lists six (created, expired, refunded_not_charged, charged, partially_refunded,
/// refunded); webhooks add `authorized`; a third-party gateway also saw `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created, not yet authorised by the customer (40 minutes at most).
    Created,
    /// Seen in the wild as a synonym of `created`.
    Pending,
    /// The customer authorised the payment on Scalapay's page; not captured yet.
    Authorized,
    /// Captured.
    Charged,
    /// Part of the captured amount was refunded.
    PartiallyRefunded,
    /// All of it was refunded.
    Refunded,
    /// Authorised, but never captured before the authorisation lapsed.
    RefundedNotCharged,
    /// Not authorised in time, or refused (then `lastEligibilityFeedback` says so).
    Expired,
    /// A value the documentation does not list.
    #[serde(other)]
    Unknown,
}

/// The capture's status (`captureStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureStatus {
    /// Not captured yet.
    Pending,
    /// Captured.
    Captured,
    /// Capture delayed (`/delay`, 5 days by default).
    Delayed,
    /// Voided before any capture.
    Voided,
    /// A value the documentation does not list.
    #[serde(other)]
    Unknown,
}

/// The upper-case status of an operation's answer (`APPROVED` for a capture, `AUTHORIZED`
/// for a delay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OperationStatus {
    /// The capture went through.
    Approved,
    /// The authorisation stands (delay).
    Authorized,
    /// A value the documentation does not list.
    #[serde(other)]
    Unknown,
}

/// The order as Scalapay echoes it (`orderDetails`): every part optional when reading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDetails {
    /// The shopper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<Consumer>,
    /// Billing address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<Address>,
    /// Shipping address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Address>,
    /// The lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// Discounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<Discount>,
    /// Redirect URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<MerchantUrls>,
    /// The merchant's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    /// Tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_amount: Option<Amount>,
    /// The total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Amount>,
    /// Shipping cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_amount: Option<Amount>,
}

impl From<&OrderRequest> for OrderDetails {
    fn from(r: &OrderRequest) -> OrderDetails {
        OrderDetails {
            consumer: Some(r.consumer.clone()),
            billing: r.billing.clone(),
            shipping: Some(r.shipping.clone()),
            items: r.items.clone(),
            discounts: r.discounts.clone(),
            merchant: Some(r.merchant.clone()),
            merchant_reference: r.merchant_reference.clone(),
            tax_amount: r.tax_amount.clone(),
            total_amount: Some(r.total_amount.clone()),
            shipping_amount: r.shipping_amount.clone(),
        }
    }
}

/// `GET /v2/payments/{token}` answer: the order's details and statuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// The order's token.
    pub token: String,
    /// Creation time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The order's status.
    pub status: OrderStatus,
    /// The capture's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_status: Option<CaptureStatus>,
    /// Why Scalapay refused the customer (e.g. `DECLINED_FRAUD`); never more precise, "for
    /// privacy reasons".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_eligibility_feedback: Option<String>,
    /// The order's total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Amount>,
    /// The order as created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_details: Option<OrderDetails>,
}

/// `POST /v2/payments/capture` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// The order's token.
    pub token: String,
    /// How much to capture (up to the order's total); all of it when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// An updated merchant reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
}

/// `POST /v2/payments/capture` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureResponse {
    /// The order's token.
    pub token: String,
    /// `APPROVED` when captured.
    pub status: OperationStatus,
    /// The amount captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Amount>,
    /// The order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_details: Option<OrderDetails>,
    /// When (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
}

/// `POST /v2/payments/{token}/delay` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayRequest {
    /// How long the authorisation stands; 432 000 000 (5 days) by default.
    pub authorization_expiry_milliseconds: u64,
    /// An updated merchant reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
}

/// `POST /v2/payments/{token}/delay` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayResponse {
    /// The order's token.
    pub token: String,
    /// `AUTHORIZED`.
    pub status: OperationStatus,
    /// When the authorisation lapses (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_expiry_at: Option<String>,
    /// The order's total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Amount>,
    /// The order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_details: Option<OrderDetails>,
}

/// `POST /v2/payments/{token}/refund` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// How much goes back.
    pub refund_amount: Amount,
    /// The merchant's reference of the refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_refund_reference: Option<String>,
}

/// `POST /v2/payments/{token}/refund` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    /// The order's token.
    pub token: String,
    /// The amount refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// The order's merchant reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    /// The refund's merchant reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_refund_reference: Option<String>,
    /// Scalapay's reference of the refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_token: Option<String>,
    /// When (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<String>,
}

/// One row of `GET /v2/payments/references` (newest first, 100 at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceMatch {
    /// The order's token.
    pub order_token: String,
    /// The merchant reference.
    #[serde(default)]
    pub merchant_order_reference: Option<String>,
    /// The processor reference.
    #[serde(default)]
    pub merchant_processor_reference: Option<String>,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
}

/// The error envelope: `{errorCode, errorId, message, httpStatusCode}`. A 401 is not in this
/// shape: its body is the bare JSON string `"Unauthorized"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The code to act on (`api_validationerror`, `invalid_token`, …).
    pub error_code: String,
    /// A unique id to quote to Scalapay (`error-…`).
    pub error_id: String,
    /// Text, or the validation details for `api_validationerror`; absent in some examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ErrorMessage>,
    /// The HTTP status, repeated.
    pub http_status_code: u16,
}

/// An error's `message`: text, or an object listing the fields at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorMessage {
    /// Human-readable text; may change, never to act on.
    Text(String),
    /// The validation details.
    Validation(ValidationMessage),
}

/// The `message` of an `api_validationerror`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationMessage {
    /// 400.
    pub status: u16,
    /// `Bad Request`.
    pub status_text: String,
    /// One entry per field at fault.
    pub errors: Vec<FieldError>,
}

/// One field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The path to the field, e.g. `["totalAmount", "amount"]`.
    pub field: Vec<String>,
    /// `body`, `query`, `header`.
    pub location: String,
    /// What is wrong, in words.
    pub messages: Vec<String>,
    /// What is wrong, as rule names (`any.empty`, `any.required`…).
    pub types: Vec<String>,
}

impl ErrorBody {
    /// The paths of the fields at fault, for validation errors.
    pub fn fields(&self) -> Vec<&[String]> {
        match &self.message {
            Some(ErrorMessage::Validation(v)) => v.errors.iter().map(|e| e.field.as_slice()).collect(),
            _ => Vec::new(),
        }
    }
}

/// A webhook's `totalAmount`: a JSON number per the documentation, tolerated as an amount
/// object too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WebhookAmount {
    /// `40.7`.
    Number(serde_json::Number),
    /// `{"amount": "40.70", "currency": "EUR"}`.
    Object(Amount),
}

impl WebhookAmount {
    /// The JSON number Scalapay sends for `money`: the decimal string without trailing zeros
    /// (`40.7`, `190`), built from integers.
    pub fn number_of(money: Money) -> WebhookAmount {
        let text = money.to_decimal_string();
        let trimmed =
            if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { text.as_str() };
        match serde_json::from_str::<serde_json::Number>(trimmed) {
            Ok(n) => WebhookAmount::Number(n),
            Err(_) => WebhookAmount::Object(Amount::of(money)),
        }
    }
}

/// A webhook's body. Four keys are always present; `created` and `refunded` carry more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// The merchant's correlation id: our attempt's reference.
    #[serde(default)]
    pub merchant_reference: Option<String>,
    /// The total, as a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<WebhookAmount>,
    /// The order's status after the event.
    pub status: OrderStatus,
    /// The order's token.
    pub order_token: String,
    /// The order (on `created`, `refunded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_details: Option<OrderDetails>,
}

/// Signs a webhook as Scalapay does: lower-case hex HMAC-SHA256, keyed with the merchant's
/// API key, over `V1:{timestamp}:{payload}`.
pub fn sign(api_key: &str, timestamp: &str, payload: &[u8]) -> String {
    // HMAC takes keys of any length, so `mac` always gives one; an empty signature would
    // verify nothing.
    mac(api_key, timestamp, payload).map(|m| hex::encode(m.finalize().into_bytes())).unwrap_or_default()
}

/// The MAC over `V1:{timestamp}:{payload}`, ready to verify or finalise (`None` only if the
/// HMAC implementation refused the key, which it does for no length).
pub fn mac(api_key: &str, timestamp: &str, payload: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(api_key.as_bytes()).ok()?;
    mac.update(SIGNATURE_VERSION.as_bytes());
    mac.update(b":");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(payload);
    Some(mac)
}

/// `body` without the whitespace outside strings ([`crate::providers::minify_json`]).
pub use crate::providers::minify_json as minify;

#[cfg(test)]
mod tests {
    use super::*;

    /// The documents' examples, verbatim (`server/tests/fixtures/scalapay/README.md`).
    const ORDER_CREATED: &str = include_str!("../../../tests/fixtures/scalapay/order_created_docs.json");
    const CONFLICT: &str = include_str!("../../../tests/fixtures/scalapay/error_conflicting.json");
    const AMOUNT: &str = include_str!("../../../tests/fixtures/scalapay/amount.json");
    const SEED_DELAY: &str = include_str!("../../../tests/fixtures/scalapay/delay_request.json");

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/scalapay/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_documented_examples_parse() {
        let created: OrderCreated = serde_json::from_str(ORDER_CREATED).unwrap();
        assert_eq!(created.token, "71KH916VPE");
        assert_eq!(created.checkout_url.as_deref(), Some("https://portal.scalapay.com/checkout/71KH916VPE"));
        let conflict: ErrorBody = serde_json::from_str(CONFLICT).unwrap();
        assert_eq!(conflict.error_code, "conflicting_operation_in_progress");
        assert_eq!(conflict.http_status_code, 409);
        assert_eq!(conflict.message, Some(ErrorMessage::Text("…".into())));
        let amount: Amount = serde_json::from_str(AMOUNT).unwrap();
        assert_eq!(amount.to_money().unwrap(), Money::new(19_000, Currency::Eur).unwrap());
        assert_eq!(Amount::of(Money::new(19_000, Currency::Eur).unwrap()), amount);
        let delay: DelayRequest = serde_json::from_str(SEED_DELAY).unwrap();
        assert_eq!(delay.authorization_expiry_milliseconds, DEFAULT_AUTHORIZATION_EXPIRY_MS);
    }

    #[test]
    fn the_fixtures_parse() {
        let charged: Payment = serde_json::from_str(&fixture("payment_charged.json")).unwrap();
        assert_eq!(
            (charged.status, charged.capture_status),
            (OrderStatus::Charged, Some(CaptureStatus::Captured))
        );
        let details = charged.order_details.unwrap();
        assert_eq!(details.items.len(), 2);
        assert_eq!(details.merchant_reference.as_deref(), Some("order-7731"));
        assert_eq!(charged.total_amount.unwrap().to_money().unwrap().minor(), 19_000);
        let expired: Payment = serde_json::from_str(&fixture("payment_expired.json")).unwrap();
        assert_eq!(expired.status, OrderStatus::Expired);
        assert_eq!(expired.capture_status, Some(CaptureStatus::Pending));
        assert_eq!(expired.last_eligibility_feedback.as_deref(), Some("DECLINED_FRAUD"));

        let validation: ErrorBody = serde_json::from_str(&fixture("error_validation.json")).unwrap();
        assert_eq!(validation.error_code, "api_validationerror");
        assert_eq!(validation.fields(), vec![&["totalAmount".to_owned(), "amount".to_owned()][..]]);
        let precondition: ErrorBody = serde_json::from_str(&fixture("error_precondition.json")).unwrap();
        assert_eq!(precondition.message, None);
        let token: ErrorBody = serde_json::from_str(&fixture("error_invalid_token.json")).unwrap();
        assert_eq!((token.error_code.as_str(), token.http_status_code), ("invalid_token", 422));

        let capture: CaptureResponse = serde_json::from_str(&fixture("capture.json")).unwrap();
        assert_eq!(capture.status, OperationStatus::Approved);
        let delay: DelayResponse = serde_json::from_str(&fixture("delay.json")).unwrap();
        assert_eq!(delay.status, OperationStatus::Authorized);
        // The documentation's delay example writes `40,70`: kept as sent, refused as money.
        assert!(delay.total_amount.unwrap().to_money().is_err());
        let refund: RefundResponse = serde_json::from_str(&fixture("refund.json")).unwrap();
        assert_eq!(refund.refund_token.as_deref(), Some("RFD4Q8ZK2M"));
        let refs: Vec<ReferenceMatch> = serde_json::from_str(&fixture("references.json")).unwrap();
        assert_eq!(refs[0].order_token, "71KH916VPE");

        let request: OrderRequest = serde_json::from_str(&fixture("order_request.json")).unwrap();
        assert_eq!(request.total_amount.amount, "190.00");
        assert_eq!(request.order_expiry_milliseconds, Some(2_400_000));
        let hook: Webhook = serde_json::from_str(&fixture("webhook_created.json")).unwrap();
        assert_eq!((hook.status, hook.order_token.as_str()), (OrderStatus::Created, "3FJQ8N2WLC"));
        assert_eq!(
            hook.total_amount,
            Some(WebhookAmount::Number(serde_json::Number::from_f64(40.7).unwrap()))
        );
    }

    #[test]
    fn unknown_statuses_are_kept_apart() {
        let p: Payment =
            serde_json::from_str(r#"{"token":"T","status":"on_hold","captureStatus":"frozen"}"#).unwrap();
        assert_eq!((p.status, p.capture_status), (OrderStatus::Unknown, Some(CaptureStatus::Unknown)));
        for (text, status) in [
            ("refunded_not_charged", OrderStatus::RefundedNotCharged),
            ("partially_refunded", OrderStatus::PartiallyRefunded),
            ("pending", OrderStatus::Pending),
        ] {
            let p: Payment = serde_json::from_str(&format!(r#"{{"token":"T","status":"{text}"}}"#)).unwrap();
            assert_eq!(p.status, status);
        }
    }

    #[test]
    fn the_documented_signature_example() {
        // messages-validation: api_key, V1, timestamp 1234567890123, {"payload":"payload"};
        // the digest computed independently with Python's hmac module.
        assert_eq!(
            sign("api_key", "1234567890123", br#"{"payload":"payload"}"#),
            "1c9b245f89f458d992c1681c60388e0bda17335de5492f23547a0f9de5bf5969"
        );
        assert_eq!(
            sign("api-key", "1234567890123", br#"{"payload":"payload"}"#),
            "8f3d7db436b8301da12cf32acd3d5f1356c1569c3d0a2679d4bd82d3b88d9a94"
        );
    }

    #[test]
    fn minify_keeps_strings_and_key_order() {
        let pretty = b"{\n  \"b\": \"a \\\" b\",\n  \"a\": [1, 2]\n}";
        assert_eq!(minify(pretty), br#"{"b":"a \" b","a":[1,2]}"#.to_vec());
        let body = fixture("webhook_created.json");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(minify(body.as_bytes()).len(), serde_json::to_vec(&v).unwrap().len());
    }

    #[test]
    fn webhook_numbers_come_from_integers() {
        let eur = |minor| Money::new(minor, Currency::Eur).unwrap();
        assert_eq!(serde_json::to_string(&WebhookAmount::number_of(eur(4070))).unwrap(), "40.7");
        assert_eq!(serde_json::to_string(&WebhookAmount::number_of(eur(19_000))).unwrap(), "190");
        assert_eq!(serde_json::to_string(&WebhookAmount::number_of(eur(1))).unwrap(), "0.01");
    }
}
