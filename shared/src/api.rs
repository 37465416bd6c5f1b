//! The HTTP API's request and response bodies: the merchant API (secret key) and the public
//! API the widget uses (client secret). One module, versioned deliberately: every type here is
//! a wire contract between the verifier, the widget and merchants' code.

use serde::{Deserialize, Serialize};

use crate::catalogue::{ErrorCode, SuggestedAction};
use crate::method::{PaymentMethod, Provider};
use crate::money::Currency;
use crate::phone::Country;
use crate::status::{AttemptStatus, CheckoutStatus, RefundStatus};

/// `POST /v1/checkouts` (merchant API): what the merchant's backend wants to be paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCheckout {
    /// Amount in minor units of `currency`.
    pub amount: u64,
    /// Currency of the amount.
    pub currency: Currency,
    /// The merchant's own order reference (unique per merchant).
    pub reference: String,
    /// What is being paid, shown to the customer.
    #[serde(default)]
    pub description: Option<String>,
    /// The customer's country, for phone numbers typed nationally; the verifier's default
    /// country when absent.
    #[serde(default)]
    pub country: Option<Country>,
    /// Where a customer sent to a provider's page (card, pay-later, payment links) comes back:
    /// the merchant's page that embeds the widget. Set by the merchant's backend only.
    #[serde(default)]
    pub return_url: Option<String>,
    /// Who pays, for providers that need it (Scalapay requires the consumer's details).
    #[serde(default)]
    pub customer: Option<Customer>,
}

/// The paying customer, as the merchant's backend knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// First names.
    #[serde(default)]
    pub given_names: Option<String>,
    /// Family name.
    #[serde(default)]
    pub surname: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number, E.164.
    #[serde(default)]
    pub phone: Option<String>,
}

/// A checkout as the merchant API returns it. Reading it back is how a merchant's backend
/// verifies a payment: `status` is `succeeded` only on the provider's word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    /// `co_…`.
    pub id: String,
    /// Amount in minor units.
    pub amount: u64,
    /// Currency of the amount.
    pub currency: Currency,
    /// The merchant's order reference.
    pub reference: String,
    /// What is being paid.
    pub description: Option<String>,
    /// The country of the checkout.
    pub country: Country,
    /// Current state.
    pub status: CheckoutStatus,
    /// The secret the widget is given; returned only by the create call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: after this, no new attempt can start.
    pub expires_at: String,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// The hosted payment page, `{public_url}/pay/{id}#{client_secret}`: a link the merchant
    /// can send (SMS, WhatsApp). Returned only by the create call, like the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_url: Option<String>,
}

/// One payment attempt, as the merchant API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// `at_…`.
    pub id: String,
    /// The provider that carries it.
    pub provider: Provider,
    /// What the customer chose.
    pub method: PaymentMethod,
    /// The customer's number, E.164.
    pub phone: Option<String>,
    /// Current state.
    pub status: AttemptStatus,
    /// Why it failed, when it did.
    pub failure: Option<ErrorCode>,
    /// The provider's own reference, once it gave one.
    pub provider_reference: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// A way to pay that the widget offers for a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodOption {
    /// The method.
    pub method: PaymentMethod,
    /// The provider that carries it.
    pub provider: Provider,
}

/// `GET /v1/public/checkouts/{id}` (client secret): what the widget shows, and what each
/// status event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicCheckout {
    /// `co_…`.
    pub id: String,
    /// The merchant's name, shown above the amount.
    pub merchant_name: String,
    /// What is being paid.
    pub description: Option<String>,
    /// Amount in minor units.
    pub amount: u64,
    /// Currency of the amount.
    pub currency: Currency,
    /// Country of phone numbers typed nationally.
    pub country: Country,
    /// Current state.
    pub status: CheckoutStatus,
    /// The ways to pay.
    pub methods: Vec<MethodOption>,
    /// The latest attempt, if any.
    pub attempt: Option<PublicAttempt>,
    /// RFC 3339.
    pub expires_at: String,
}

/// The latest attempt, as the customer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAttempt {
    /// `at_…`: the reference the customer keeps.
    pub id: String,
    /// What the customer chose.
    pub method: PaymentMethod,
    /// Current state.
    pub status: AttemptStatus,
    /// Why it failed, when it did.
    pub failure: Option<ErrorCode>,
    /// What to suggest after a failure.
    pub action: Option<SuggestedAction>,
    /// A page where the customer confirms, when the provider gives one.
    pub payment_url: Option<String>,
}

/// `POST /v1/public/checkouts/{id}/pay` (client secret): the customer's choice. Amount and
/// currency are never part of it: the checkout's alone are charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayRequest {
    /// The method chosen.
    pub method: PaymentMethod,
    /// The number as typed, or E.164; the verifier parses it again. Empty for methods that
    /// need no phone number (card).
    #[serde(default)]
    pub phone: String,
    /// Which provider carries the method, when several offer it; the first one otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// The one-time code the customer generated (Orange Money), when the method needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}

/// `POST /v1/checkouts/{id}/refunds` (merchant API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Minor units to give back; everything not yet refunded when absent.
    #[serde(default)]
    pub amount: Option<u64>,
    /// Why, for the merchant's records and the provider.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A refund, as the merchant API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// `rf_…`.
    pub id: String,
    /// The refunded checkout.
    pub checkout_id: String,
    /// Minor units given back.
    pub amount: u64,
    /// Currency of the amount.
    pub currency: Currency,
    /// Current state.
    pub status: RefundStatus,
    /// The merchant's reason.
    pub reason: Option<String>,
    /// Why it failed, when it did.
    pub failure: Option<ErrorCode>,
    /// The provider's reference for it.
    pub provider_reference: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// The body of every error response: `{"error": {"code": "…", "message": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// The error.
    pub error: ApiErrorBody,
}

/// The inside of [`ApiError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// A stable machine-readable code.
    pub code: ApiErrorCode,
    /// An explanation for the developer reading it (English).
    pub message: String,
    /// The request field at fault, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For payment failures, the catalogue's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_error: Option<ErrorCode>,
}

/// Machine-readable API error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// The body or a parameter is malformed or invalid.
    InvalidRequest,
    /// The phone number was refused; `field` is `phone`.
    InvalidPhoneNumber,
    /// Missing or wrong key or client secret.
    Unauthorized,
    /// No such resource (for this key).
    NotFound,
    /// The request conflicts with the resource's state (already paid, expired, duplicate).
    Conflict,
    /// The method is not offered for this checkout.
    MethodUnavailable,
    /// The provider refused or failed; `payment_error` says how.
    PaymentFailed,
    /// The refund cannot be made (not paid, already refunded, or the provider has no refund
    /// API); `payment_error` is `REFUND_NOT_ALLOWED` and `message` says why.
    RefundNotAllowed,
    /// Something failed on our side; nothing more is said.
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_checkout_refuses_unknown_fields() {
        let ok: CreateCheckout =
            serde_json::from_str(r#"{"amount":5000,"currency":"XOF","reference":"o-1"}"#).unwrap();
        assert_eq!(ok.amount, 5000);
        assert!(
            serde_json::from_str::<CreateCheckout>(
                r#"{"amount":5000,"currency":"XOF","reference":"o-1","amout":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn error_body_shape() {
        let e = ApiError {
            error: ApiErrorBody {
                code: ApiErrorCode::InvalidPhoneNumber,
                message: "too short".into(),
                field: Some("phone".into()),
                payment_error: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":{"code":"invalid_phone_number","message":"too short","field":"phone"}}"#
        );
    }
}
