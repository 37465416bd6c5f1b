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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateCheckout {
    /// Amount in minor units of `currency` (`money::Money::new`'s range).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000_000_000_u64))]
    pub amount: u64,
    /// Currency of the amount.
    pub currency: Currency,
    /// The merchant's own order reference (unique per merchant; 1 to 128 characters once
    /// trimmed, as the verifier checks).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub reference: String,
    /// What is being paid, shown to the customer (at most 500 characters, as the verifier
    /// checks).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
    /// The customer's country, for phone numbers typed nationally; the verifier's default
    /// country when absent.
    #[serde(default)]
    pub country: Option<Country>,
    /// Where a customer sent to a provider's page (card, pay-later, payment links) comes back:
    /// the merchant's page that embeds the widget. Set by the merchant's backend only: an
    /// absolute `https://` or `http://` URL of at most 2048 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub return_url: Option<String>,
    /// Who pays, for providers that need it (Scalapay requires the consumer's details).
    #[serde(default)]
    pub customer: Option<Customer>,
}

/// The paying customer, as the merchant's backend knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkout {
    /// `co_…`.
    pub id: String,
    /// The short reference the customer is shown (on the widget's outcome screens) and may read
    /// over the phone: 8 characters of Crockford's base32 in two groups, `K7M2-9QXA`, derived
    /// from the id (the same every time).
    pub short_reference: String,
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
    /// Whether it was created by a verifier in live mode (real money); `false` for test mode.
    /// Only a verifier of the same mode can pay it.
    pub livemode: bool,
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

/// One checkout of the merchant's list (`GET /v1/checkouts`): the checkout as
/// [`Checkout`] shows it, with its latest attempt instead of all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutSummary {
    /// `co_…`.
    pub id: String,
    /// The short reference the customer is shown (see [`Checkout::short_reference`]).
    pub short_reference: String,
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
    /// Whether it was created by a verifier in live mode (real money); `false` for test mode.
    pub livemode: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: after this, no new attempt can start.
    pub expires_at: String,
    /// The latest attempt, if any (`GET /v1/checkouts/{id}` lists them all).
    pub latest_attempt: Option<Attempt>,
}

/// A page of the merchant's checkouts, newest first (`GET /v1/checkouts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutList {
    /// The checkouts of this page, newest first.
    pub data: Vec<CheckoutSummary>,
    /// Whether more checkouts match after this page.
    pub has_more: bool,
    /// When `has_more`: the `cursor` query parameter that asks for the next page (with the same
    /// filters). Opaque: its content may change between versions.
    pub next_cursor: Option<String>,
}

/// One payment attempt, as the merchant API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// What the provider last reported about the money (amount, currency, our reference as it
    /// echoed them), when it reported any: for an attempt in `review`, what did not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Reported>,
    /// RFC 3339.
    pub created_at: String,
}

/// What a provider reported about an attempt's money, as it reported it. Each field is absent
/// when the provider's message did not carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reported {
    /// The amount in minor units of the currency (its ISO 4217 exponent), read exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    /// The amount as the provider wrote it, when it could not be read as minor units (a
    /// mismatch whatever the checkout's amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable_amount: Option<String>,
    /// The currency code, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Our reference for the attempt, as the provider echoed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// What the customer was debited, the provider's fees included, in minor units, when the
    /// provider says (NovaSend's `chargedAmount`). Never compared with the checkout's amount:
    /// the fees are the customer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charged: Option<u64>,
}

impl Reported {
    /// Reads a provider's report: `amount` is a decimal in major units (`"12.34"`, `"300"`),
    /// converted exactly into minor units of `currency` when that is a code we know, else of
    /// `fallback` (the one currency the provider's message implies). Text that is no such
    /// decimal is kept in [`Reported::unreadable_amount`]. Adapters pass a JSON number as
    /// `serde_json` prints it, its shortest round-trip form, which gives back the decimal
    /// written for any amount of at most 15 significant digits (`40.7`, `200.0`).
    pub fn read(
        amount: Option<&str>,
        currency: Option<&str>,
        fallback: Currency,
        reference: Option<&str>,
    ) -> Reported {
        let currency = currency.map(str::trim).filter(|c| !c.is_empty());
        let exponent_of = currency.and_then(|c| Currency::parse(c).ok()).unwrap_or(fallback);
        let (amount, unreadable_amount) = match amount.map(str::trim) {
            None => (None, None),
            Some(text) => match crate::money::Money::from_decimal_str(text, exponent_of) {
                Ok(m) => (Some(m.minor()), None),
                Err(_) => (None, Some(text.to_owned())),
            },
        };
        Reported {
            amount,
            unreadable_amount,
            currency: currency.map(str::to_owned),
            reference: reference.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned),
            charged: None,
        }
    }

    /// Whether the report carries an amount at all (readable or not).
    pub fn has_amount(&self) -> bool {
        self.amount.is_some() || self.unreadable_amount.is_some()
    }

    /// Whether nothing was reported.
    pub fn is_empty(&self) -> bool {
        !self.has_amount() && self.currency.is_none() && self.reference.is_none()
    }
}

/// What an attempt was expected to report: the checkout's amount and our reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Expected {
    /// Minor units.
    pub amount: u64,
    /// The checkout's currency.
    pub currency: Currency,
    /// Our reference for the attempt, as sent to the provider.
    pub reference: String,
}

/// The payload of `attempt.amount_mismatch`: what was expected and what the provider reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AmountMismatch {
    /// What the attempt asked for.
    pub expected: Expected,
    /// What the provider said was paid.
    pub reported: Reported,
}

/// A way to pay that the widget offers for a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MethodOption {
    /// The method.
    pub method: PaymentMethod,
    /// The provider that carries it.
    pub provider: Provider,
}

/// `GET /v1/public/checkouts/{id}` (client secret): what the widget shows, and what each
/// status event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicCheckout {
    /// `co_…`.
    pub id: String,
    /// The reference the customer keeps and reads over the phone, `K7M2-9QXA` (as the merchant
    /// API's `short_reference`).
    pub short_reference: String,
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
    /// Whether it is a live checkout (real money); `false` in test mode.
    pub livemode: bool,
    /// The ways to pay.
    pub methods: Vec<MethodOption>,
    /// The latest attempt, if any.
    pub attempt: Option<PublicAttempt>,
    /// RFC 3339.
    pub expires_at: String,
    /// The merchant's page to go back to once the payment ended (the checkout's `return_url`,
    /// an `http(s)` URL), if the merchant gave one.
    #[serde(default)]
    pub return_url: Option<String>,
}

/// The latest attempt, as the customer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicAttempt {
    /// `at_…`: the reference the customer keeps.
    pub id: String,
    /// What the customer chose.
    pub method: PaymentMethod,
    /// Who carries it: how the customer confirms depends on it (NovaSend's Orange Money takes
    /// a one-time code the customer generated, with no prompt; CaurisFlux's is a push).
    pub provider: Provider,
    /// Current state.
    pub status: AttemptStatus,
    /// Why it failed, when it did.
    pub failure: Option<ErrorCode>,
    /// What to suggest after a failure.
    pub action: Option<SuggestedAction>,
    /// A page where the customer confirms, when the provider gives one.
    pub payment_url: Option<String>,
    /// RFC 3339: when the provider gives up waiting for the customer's confirmation, when the
    /// verifier knows it (the provider's confirmation window from the attempt's start); the
    /// widget counts down to it while waiting, else to the checkout's `expires_at`.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The number it was started with, masked as in logs (`+225 07 •• •• •• 56`): enough for
    /// the customer to recognise their wallet, not enough to call anyone.
    #[serde(default)]
    pub phone: Option<String>,
    /// The provider's reference for the payment, once it gave one: the transaction id the
    /// customer can quote to the provider or operator.
    #[serde(default)]
    pub provider_reference: Option<String>,
    /// When it reached its final state (paid, failed, expired), RFC 3339; absent while it is
    /// under way.
    #[serde(default)]
    pub finished_at: Option<String>,
}

/// `POST /v1/public/checkouts/{id}/pay` (client secret): the customer's choice. Amount and
/// currency are never part of it: the checkout's alone are charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayRequest {
    /// The method chosen.
    pub method: PaymentMethod,
    /// The number as typed, or E.164; the verifier parses it again. Empty for methods that
    /// need no phone number (card).
    #[serde(default)]
    pub phone: String,
    /// Which provider carries the method, when several offer it; without one the verifier
    /// chooses (its `[routing]`: the merchant's preference or weights and each provider's
    /// recent health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// The one-time code the customer generated (Orange Money), when the method needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}

/// `POST /v1/checkouts/{id}/refunds` (merchant API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Minor units to give back; everything not yet refunded when absent.
    #[serde(default)]
    pub amount: Option<u64>,
    /// Why, for the merchant's records and the provider.
    #[serde(default)]
    pub reason: Option<String>,
    /// The paid attempt to refund (`at_…`); the checkout's first paid attempt when absent. A
    /// checkout paid twice (`checkout.overpaid`) refunds its second payment by naming it.
    #[serde(default)]
    pub attempt_id: Option<String>,
}

/// A refund, as the merchant API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refund {
    /// `rf_…`.
    pub id: String,
    /// The refunded checkout.
    pub checkout_id: String,
    /// The paid attempt it refunds.
    #[serde(default)]
    pub attempt_id: String,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// The error.
    pub error: ApiErrorBody,
}

/// The inside of [`ApiError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// 409: another request with this `Idempotency-Key` is still running; retry after the
    /// `Retry-After` header's seconds.
    IdempotencyKeyInUse,
    /// 422: this `Idempotency-Key` was already used with another method, path or body.
    IdempotencyKeyReused,
    /// 409: the checkout was created in the other mode (test or live) than this verifier's:
    /// a test checkout is never paid or refunded by a live verifier, nor the reverse.
    LivemodeMismatch,
    /// 409: the first request with this `Idempotency-Key` was interrupted before it answered and
    /// repeating it could act twice (refunds): read the resource to see what happened, then use
    /// a new key.
    IdempotencyKeyInterrupted,
    /// 503: the verifier is busy (too many requests at once, a request that took too long, too
    /// many status streams): nothing was done; retry after the `Retry-After` header's seconds.
    Unavailable,
    /// 429: too many requests (from this client address, with this client secret, or to this
    /// phone number); retry after the `Retry-After` header's seconds. `payment_error` is
    /// `TOO_MANY_REQUESTS`.
    RateLimited,
    /// 422: a limit of this checkout is reached (payment attempts, or wrong one-time codes for
    /// the method asked); `payment_error` says which. Retrying does not help.
    TooManyAttempts,
    /// 401: the client secret's checkout expired more than an hour ago: the secret no longer
    /// opens it (the merchant's backend still reads it with its key).
    ClientSecretExpired,
    /// 405: the path exists but not with this HTTP method; the `Allow` header lists the ones
    /// it takes.
    MethodNotAllowed,
}

impl ApiErrorCode {
    /// Every code.
    pub const ALL: [ApiErrorCode; 18] = [
        ApiErrorCode::InvalidRequest,
        ApiErrorCode::InvalidPhoneNumber,
        ApiErrorCode::Unauthorized,
        ApiErrorCode::NotFound,
        ApiErrorCode::Conflict,
        ApiErrorCode::MethodUnavailable,
        ApiErrorCode::PaymentFailed,
        ApiErrorCode::RefundNotAllowed,
        ApiErrorCode::Internal,
        ApiErrorCode::IdempotencyKeyInUse,
        ApiErrorCode::IdempotencyKeyReused,
        ApiErrorCode::LivemodeMismatch,
        ApiErrorCode::IdempotencyKeyInterrupted,
        ApiErrorCode::Unavailable,
        ApiErrorCode::RateLimited,
        ApiErrorCode::TooManyAttempts,
        ApiErrorCode::ClientSecretExpired,
        ApiErrorCode::MethodNotAllowed,
    ];

    /// The wire name (serde's `snake_case` form).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiErrorCode::InvalidRequest => "invalid_request",
            ApiErrorCode::InvalidPhoneNumber => "invalid_phone_number",
            ApiErrorCode::Unauthorized => "unauthorized",
            ApiErrorCode::NotFound => "not_found",
            ApiErrorCode::Conflict => "conflict",
            ApiErrorCode::MethodUnavailable => "method_unavailable",
            ApiErrorCode::PaymentFailed => "payment_failed",
            ApiErrorCode::RefundNotAllowed => "refund_not_allowed",
            ApiErrorCode::Internal => "internal",
            ApiErrorCode::IdempotencyKeyInUse => "idempotency_key_in_use",
            ApiErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ApiErrorCode::LivemodeMismatch => "livemode_mismatch",
            ApiErrorCode::IdempotencyKeyInterrupted => "idempotency_key_interrupted",
            ApiErrorCode::Unavailable => "unavailable",
            ApiErrorCode::RateLimited => "rate_limited",
            ApiErrorCode::TooManyAttempts => "too_many_attempts",
            ApiErrorCode::ClientSecretExpired => "client_secret_expired",
            ApiErrorCode::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// Parses [`ApiErrorCode::as_str`]'s form (the widget reads codes with this rather than a
    /// serde visitor, which costs its download more).
    pub fn parse(s: &str) -> Option<ApiErrorCode> {
        ApiErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The kinds of event the verifier sends to the merchant's webhook endpoint (Standard
/// Webhooks). Each event has a stable `evt_…` id, sent as `webhook-id` on every delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    /// The checkout is paid (a provider confirmed it).
    #[serde(rename = "checkout.succeeded")]
    CheckoutSucceeded,
    /// The checkout passed its deadline unpaid.
    #[serde(rename = "checkout.expired")]
    CheckoutExpired,
    /// The checkout was cancelled.
    #[serde(rename = "checkout.cancelled")]
    CheckoutCancelled,
    /// Part of the paid amount went back to the customer.
    #[serde(rename = "checkout.partially_refunded")]
    CheckoutPartiallyRefunded,
    /// All of the paid amount went back to the customer.
    #[serde(rename = "checkout.refunded")]
    CheckoutRefunded,
    /// A payment attempt failed or expired; the checkout is open again and the customer may
    /// retry. `data.attempt.failure` says why.
    #[serde(rename = "attempt.failed")]
    AttemptFailed,
    /// A refund went through.
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    /// A refund was refused; `data.refund.failure` says why.
    #[serde(rename = "refund.failed")]
    RefundFailed,
    /// A provider reported a payment whose amount, currency or reference is not the attempt's:
    /// the attempt is in `review` and the checkout is not paid by it. `data.mismatch` says what
    /// was expected and what was reported.
    #[serde(rename = "attempt.amount_mismatch")]
    AttemptAmountMismatch,
    /// A second attempt of an already paid checkout was paid too (a late success, a lost
    /// answer): the customer paid twice. `data.attempt` is the late one, `data.paid_attempts`
    /// every paid attempt; refund one by naming it (`attempt_id`).
    #[serde(rename = "checkout.overpaid")]
    CheckoutOverpaid,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 10] = [
        EventType::CheckoutSucceeded,
        EventType::CheckoutExpired,
        EventType::CheckoutCancelled,
        EventType::CheckoutPartiallyRefunded,
        EventType::CheckoutRefunded,
        EventType::AttemptFailed,
        EventType::RefundSucceeded,
        EventType::RefundFailed,
        EventType::AttemptAmountMismatch,
        EventType::CheckoutOverpaid,
    ];

    /// The wire name, e.g. `checkout.succeeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CheckoutSucceeded => "checkout.succeeded",
            EventType::CheckoutExpired => "checkout.expired",
            EventType::CheckoutCancelled => "checkout.cancelled",
            EventType::CheckoutPartiallyRefunded => "checkout.partially_refunded",
            EventType::CheckoutRefunded => "checkout.refunded",
            EventType::AttemptFailed => "attempt.failed",
            EventType::RefundSucceeded => "refund.succeeded",
            EventType::RefundFailed => "refund.failed",
            EventType::AttemptAmountMismatch => "attempt.amount_mismatch",
            EventType::CheckoutOverpaid => "checkout.overpaid",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The event a checkout's move to `status` is reported as, if any (moves to `processing`
    /// and back to `open` are not: `attempt.failed` reports the latter).
    pub fn of_checkout_status(status: CheckoutStatus) -> Option<EventType> {
        match status {
            CheckoutStatus::Succeeded => Some(EventType::CheckoutSucceeded),
            CheckoutStatus::Expired => Some(EventType::CheckoutExpired),
            CheckoutStatus::Cancelled => Some(EventType::CheckoutCancelled),
            CheckoutStatus::PartiallyRefunded => Some(EventType::CheckoutPartiallyRefunded),
            CheckoutStatus::Refunded => Some(EventType::CheckoutRefunded),
            CheckoutStatus::Open | CheckoutStatus::Processing => None,
        }
    }
}

/// The body of every webhook sent to the merchant, in the shape the Standard Webhooks
/// specification recommends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEvent {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When it happened, RFC 3339.
    pub timestamp: String,
    /// Whether the checkout is a live one (real money); `false` in test mode. (Events recorded
    /// before verifiers had modes carry none and read as `false`.)
    #[serde(default)]
    pub livemode: bool,
    /// The facts.
    pub data: WebhookEventData,
}

/// What a webhook event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEventData {
    /// The checkout, as it is after the change.
    pub checkout: EventCheckout,
    /// The attempt, for `attempt.failed` and `checkout.succeeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<EventAttempt>,
    /// The refund, for `refund.*` and `checkout.*refunded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<EventRefund>,
    /// For `attempt.amount_mismatch`: what was expected and what the provider reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<AmountMismatch>,
    /// For `checkout.overpaid`: every paid attempt of the checkout, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paid_attempts: Vec<EventAttempt>,
}

/// A checkout in a webhook event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventCheckout {
    /// `co_…`.
    pub id: String,
    /// The short reference the customer was shown, `K7M2-9QXA` (as the checkout's
    /// `short_reference`; absent from events recorded before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_reference: Option<String>,
    /// The merchant's order reference.
    pub reference: String,
    /// Amount in minor units.
    pub amount: u64,
    /// Its currency.
    pub currency: Currency,
    /// State after the change.
    pub status: CheckoutStatus,
}

/// An attempt in a webhook event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventAttempt {
    /// `at_…`.
    pub id: String,
    /// The provider that carried it.
    pub provider: Provider,
    /// The method used.
    pub method: PaymentMethod,
    /// Its state.
    pub status: AttemptStatus,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ErrorCode>,
}

/// A refund in a webhook event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRefund {
    /// `rf_…`.
    pub id: String,
    /// Amount in minor units of the checkout's currency.
    pub amount: u64,
    /// Its state.
    pub status: RefundStatus,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ErrorCode>,
}

/// One event of `GET /v1/checkouts/{id}/events`, with its delivery to the merchant's endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventDelivery {
    /// `evt_…`, the `webhook-id` of every delivery.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When, RFC 3339.
    pub created_at: String,
    /// The body sent.
    pub payload: WebhookEvent,
    /// `pending` (to send or retrying), `delivered` or `failed` (retries exhausted).
    pub delivery: DeliveryState,
    /// Sends tried so far.
    pub attempts: u32,
    /// The endpoint's last HTTP status, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// The last transport error, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the next send is due, RFC 3339 (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
}

/// Where an event's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet accepted by the endpoint; sent again on the retry schedule.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every retry failed; `POST /v1/events/{id}/redeliver` queues it again.
    Failed,
}

impl DeliveryState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_codes_parse_their_serde_names() {
        for c in ApiErrorCode::ALL {
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.as_str()));
            assert_eq!(ApiErrorCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(ApiErrorCode::parse("Not_Found"), None);
    }

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
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.as_str()));
        }
        assert_eq!(
            serde_json::to_string(&ApiErrorCode::IdempotencyKeyInUse).unwrap(),
            r#""idempotency_key_in_use""#
        );
    }

    #[test]
    fn events_recorded_before_modes_read_as_test() {
        let old = r#"{"type":"checkout.succeeded","timestamp":"2026-01-01T00:00:00Z","data":{"checkout":{"id":"co_1","reference":"o-1","amount":500,"currency":"XOF","status":"succeeded"}}}"#;
        let event: WebhookEvent = serde_json::from_str(old).unwrap();
        assert!(!event.livemode);
        let now = serde_json::to_value(WebhookEvent { livemode: true, ..event }).unwrap();
        assert_eq!(now["livemode"], serde_json::Value::Bool(true));
        assert_eq!(serde_json::to_string(&ApiErrorCode::LivemodeMismatch).unwrap(), r#""livemode_mismatch""#);
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
