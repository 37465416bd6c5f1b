//! Scalapay's wire format, written from its public reference (https://developers.scalapay.com/):
//! the Orders API v2 (`/reference/post_v2-orders`, `/reference/get_v2-payments-token-1`, the
//! capture, delay, void and refund pages), the error envelope `{errorCode, errorId, message,
//! httpStatusCode}` (`/reference/messages-validation`), and the webhook body and signature
//! (`/reference/webhooks`, `/reference/wehook-data-model`, `/reference/examples-of-webhook-requests`).
//!
//! Amounts travel as `{"amount": "190.00", "currency": "EUR"}` with the amount a **string**,
//! except in webhooks, where `totalAmount` is a JSON number (`40.7`).

use serde::{Deserialize, Serialize};

use super::euros::{Cents, EUR};

/// The webhook signature header (lower-case, as Scalapay advises reading it;
/// https://developers.scalapay.com/reference/webhooks).
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
/// How long a created order waits for the customer: 40 minutes (`/reference/post_v2-orders`).
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
    /// The wire form of an amount in euros: `"190.00"` for 19 000 cents.
    pub fn of(cents: Cents) -> Amount {
        Amount { amount: cents.to_decimal(), currency: EUR.to_owned() }
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

/// `POST /v2/orders` body (https://developers.scalapay.com/reference/post_v2-orders: required
/// `totalAmount`, `consumer`, `items`, `merchant`, `shipping`; amounts as strings).
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

/// An order's status (`status` of `GET /v2/payments/{token}` and of webhooks). The reference's
/// table lists six (created, expired, refunded_not_charged, charged, partially_refunded,
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

/// `GET /v2/payments/{token}` answer: the order's details and statuses
/// (https://developers.scalapay.com/reference/get_v2-payments-token-1).
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

/// `POST /v2/payments/{token}/delay` body
/// (https://developers.scalapay.com/reference/post_v2-payments-token-delay-2).
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

/// `POST /v2/payments/{token}/void` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoidRequest {
    /// An updated merchant reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
}

/// `POST /v2/orders/{token}` (Update order) body: `{"merchantReference":
/// "merchantOrder-1234-updated"}` in the collection's example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrderRequest {
    /// The merchant's order reference (mandatory).
    pub merchant_reference: String,
    /// The merchant's payment processor reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_processor_reference: Option<String>,
}

/// `POST /v2/orders/{token}` answer: `{token, merchantReference}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrderResponse {
    /// The order's token.
    pub token: String,
    /// The merchant reference now stored.
    pub merchant_reference: String,
}

/// `POST /v2/payments/{token}/void` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoidResponse {
    /// The order's token.
    pub token: String,
    /// The order's merchant reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_reference: Option<String>,
    /// When (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_at: Option<String>,
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

/// The error envelope: `{errorCode, errorId, message, httpStatusCode}`
/// (https://developers.scalapay.com/reference/messages-validation). A 401 is not in this
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
    /// The JSON number Scalapay sends for an amount in euros (`40.7`, `190`).
    pub fn number_of(cents: Cents) -> WebhookAmount {
        WebhookAmount::Number(cents.to_number())
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
/// API key, over `V1:{timestamp}:{payload}` (`/reference/webhooks`).
pub fn sign(api_key: &str, timestamp: &str, payload: &[u8]) -> String {
    crate::common::hmac_sha256_hex(
        api_key.as_bytes(),
        &[SIGNATURE_VERSION.as_bytes(), b":", timestamp.as_bytes(), b":", payload],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // printf 'V1:1700000000000:{"status":"charged"}' | openssl dgst -sha256 -hmac 'qhtfs87hjnc12kkos'
        assert_eq!(
            sign("qhtfs87hjnc12kkos", "1700000000000", br#"{"status":"charged"}"#),
            "a83c9534d72a3877a521f30fa8a7ccec71c3e4c792fdca805cd22586572b5301"
        );
    }
}
