//! The only code that talks to payment providers.
//!
//! Each provider is one module implementing [`PaymentProvider`]; its wire types live in a
//! `wire` submodule, separate from the integration. HTTP execution, timeouts and error
//! classification are shared in [`http`]; every request draws from the provider account's
//! request [`budget`] before it is sent.

use std::net::IpAddr;

use async_trait::async_trait;
use axum::http::HeaderMap;
use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::Money,
    phone::{Country, PhoneNumber},
    status::RefundStatus,
};

use crate::store::AttemptUpdate;

pub mod budget;
pub mod caurisflux;
pub mod http;
pub mod mypvit;
pub mod novasend;
pub mod rotation;
pub mod scalapay;

/// What the verifier asks a provider to do: take `money` from the customer.
#[derive(Debug, Clone)]
pub struct StartPayment {
    /// Our reference for the attempt, also the idempotency key: the same on every retry.
    pub reference: String,
    /// What is charged (the checkout's amount, never the browser's).
    pub money: Money,
    /// The customer's number, for methods that need one.
    pub phone: Option<PhoneNumber>,
    /// The method chosen.
    pub method: PaymentMethod,
    /// The checkout's country.
    pub country: Country,
    /// A label for the payer, when the provider wants one.
    pub customer_name: String,
    /// The payer's details given by the merchant (Scalapay needs them).
    pub customer: Option<shared::api::Customer>,
    /// What is being paid.
    pub description: Option<String>,
    /// Where a customer sent to the provider's page comes back (the merchant's page).
    pub return_url: String,
    /// The one-time code the customer generated (Orange Money), when the method needs one.
    pub otp: Option<String>,
    /// This verifier's public base URL (for callback URLs sent in the request).
    pub callback_base: String,
}

/// A refund the merchant asked for, routed to the payment's provider.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// Our refund id, also its idempotency key.
    pub refund_id: String,
    /// Our reference of the refunded attempt.
    pub payment_reference: String,
    /// The provider's reference of the refunded attempt.
    pub provider_reference: Option<String>,
    /// How much goes back.
    pub amount: Money,
    /// What was paid.
    pub paid: Money,
    /// The merchant's reason.
    pub reason: Option<String>,
}

/// What the provider said about a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResult {
    /// Its state.
    pub status: RefundStatus,
    /// The provider's reference for it.
    pub provider_reference: Option<String>,
}

/// Why a provider call did not give an answer we can act on.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the payment for a business or customer reason: final.
    #[error("refused by the provider ({provider_code}): {code:?}")]
    Refused {
        /// The catalogue's code.
        code: ErrorCode,
        /// The provider's own code, for logs and support.
        provider_code: String,
    },
    /// The outcome is unknown (timeout, connection error, 5xx): the call may have been taken.
    /// Never retried with a new reference; the reconciler asks the provider later.
    #[error("provider unreachable or failing: {0}")]
    Unavailable(String),
    /// Our request or keys are wrong (401/403, unexpected body): needs an operator.
    #[error("provider integration error: {0}")]
    Integration(String),
    /// The provider has no API for this operation (e.g. refunds); the text says so.
    #[error("not supported by the provider: {0}")]
    Unsupported(String),
    /// Not sent: the provider account's request budget is spent (its stated rate limit, or a
    /// `Retry-After` it asked for), so nothing happened at the provider. Retry in `retry_in`.
    #[error("not sent: the provider's request budget is spent for {retry_in:?}")]
    BudgetSpent {
        /// How long until the budget admits a request again (at the earliest).
        retry_in: std::time::Duration,
    },
}

/// A notification as it arrived, before anything in it is trusted.
#[derive(Debug, Clone)]
pub struct IncomingNotice<'a> {
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body, byte for byte.
    pub body: &'a [u8],
    /// The sender's address.
    pub peer: IpAddr,
    /// The secret path segment after `/webhooks/{provider}/`, if any.
    pub path_token: Option<&'a str>,
}

/// A provider notification that passed verification.
#[derive(Debug, Clone)]
pub struct VerifiedNotice {
    /// A reference that identifies the attempt: ours or the provider's.
    pub reference: String,
    /// The state the notice reports, when it is signed and explicit enough to apply as is;
    /// `None` makes the verifier fetch the status from the provider instead.
    pub update: Option<AttemptUpdate>,
    /// The body the provider expects in answer (MyPVit's acknowledgement), if any.
    pub ack: Option<serde_json::Value>,
}

/// Why a notification was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature (or timestamp outside the window, sender or path not allowed).
    #[error("the notification's signature is missing or wrong")]
    BadSignature,
    /// Signed correctly but unreadable.
    #[error("the notification's body is unreadable: {0}")]
    Malformed(String),
}

/// The pace of status fetches a provider accepts for one attempt: the reconciler starts at the
/// configured interval, never goes below `floor_ms` against a real provider, and backs off
/// towards `max_ms` while the attempt stays pending (or the provider keeps failing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// The shortest gap between two fetches the provider accepts, in ms.
    pub floor_ms: i64,
    /// The longest gap the reconciler lets grow to, in ms.
    pub max_ms: i64,
}

impl PollPolicy {
    /// For providers that say nothing: every 5 s at most, backing off to 2 min.
    pub const DEFAULT: PollPolicy = PollPolicy { floor_ms: 5_000, max_ms: 120_000 };

    /// The gap before fetch number `polls + 1`, from the configured first gap `base_ms`: each
    /// fetch multiplies the gap by 1.5, within `[floor, max]` (the floor only when `floor_applies`,
    /// i.e. unless `reconcile.ignore_provider_poll_floor` is set for tests).
    pub fn delay_ms(&self, base_ms: i64, polls: u32, floor_applies: bool) -> i64 {
        let floor = if floor_applies { self.floor_ms.max(base_ms) } else { base_ms.max(1) };
        let grown = (floor as f64) * 1.5f64.powi(polls.min(64) as i32);
        (grown.min(self.max_ms as f64) as i64).max(floor.min(self.max_ms))
    }
}

/// One payment provider's integration.
#[async_trait]
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Which provider this is.
    fn id(&self) -> Provider;

    /// The methods this provider carries for a checkout in `country` and `money`'s currency.
    fn methods(&self, country: Country, money: Money) -> Vec<PaymentMethod>;

    /// Starts a payment. The same [`StartPayment::reference`] on a retry never charges twice.
    async fn start(&self, req: &StartPayment) -> Result<AttemptUpdate, ProviderError>;

    /// Fetches the provider's current word on an attempt, by our reference or its own.
    /// `Ok(None)`: the provider has no such payment (our start call never reached it).
    async fn fetch(
        &self,
        reference: &str,
        provider_reference: Option<&str>,
    ) -> Result<Option<AttemptUpdate>, ProviderError>;

    /// Verifies a notification (signature over the raw body, timestamp, sender) and reads it.
    fn verify_notice(&self, notice: &IncomingNotice<'_>) -> Result<VerifiedNotice, WebhookError>;

    /// The provider account's request budget, shared by every call to it ([`budget`]).
    fn budget(&self) -> &budget::Budget;

    /// What the calls to the provider did: the latest outcome (`/readyz`), and the metrics
    /// they are counted in ([`http::CallLog`]).
    fn calls(&self) -> &http::CallLog;

    /// How often this provider's status API may be asked about one attempt.
    fn poll_policy(&self) -> PollPolicy {
        PollPolicy::DEFAULT
    }

    /// How long the provider waits for the customer to confirm a payment of `method` after it
    /// started, when known (the provider's document, or the merchant's setting): the attempt's
    /// deadline the widget counts down to. `None`: unknown, and the widget shows the
    /// checkout's own deadline.
    fn confirmation_window(&self, method: PaymentMethod) -> Option<std::time::Duration> {
        let _ = method;
        None
    }

    /// What an update about an attempt of `method` means for this provider, whichever way it
    /// came (the start call's answer, a notification, a fetched status): the same provider
    /// word must read the same on every path, whichever arrives first.
    fn interpret(&self, method: PaymentMethod, update: AttemptUpdate) -> AttemptUpdate {
        let _ = method;
        update
    }

    /// The provider's own id for a notification, when it sends one (the inbox's deduplication
    /// key; without one, the raw body's SHA-256 is used). Only read once verified.
    fn event_id(&self, notice: &IncomingNotice<'_>) -> Option<String> {
        let _ = notice;
        None
    }

    /// The references a notification that failed verification claims to be about, read
    /// leniently (nothing in it is trusted): used only to fetch those attempts' statuses sooner
    /// from the provider's own API.
    fn claimed_references(&self, body: &[u8]) -> Vec<String> {
        let _ = body;
        Vec::new()
    }

    /// Whether authorised payments wait for a later capture instead of being captured at once.
    fn delays_capture(&self) -> bool {
        false
    }

    /// Captures an authorised payment (card and pay-later providers).
    async fn capture(
        &self,
        reference: &str,
        provider_reference: Option<&str>,
        amount: Money,
    ) -> Result<AttemptUpdate, ProviderError> {
        let _ = (reference, provider_reference, amount);
        Err(ProviderError::Unsupported(format!("{} has no capture", self.id().as_str())))
    }

    /// Refunds all or part of a paid attempt.
    async fn refund(&self, req: &RefundRequest) -> Result<RefundResult, ProviderError> {
        let _ = req;
        Err(ProviderError::Unsupported(format!("{} offers no refund API", self.id().as_str())))
    }
}

/// The non-empty strings (or numbers) found at `pointers` (JSON pointers) in `body`, if it is
/// JSON at all: the lenient reading of an unverified notification.
pub fn strings_at(body: &[u8], pointers: &[&str]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return Vec::new() };
    pointers
        .iter()
        .filter_map(|p| match value.pointer(p)? {
            serde_json::Value::String(s) if !s.trim().is_empty() && s.len() <= 200 => {
                Some(s.trim().to_owned())
            }
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// `body` without the whitespace outside strings: what `JSON.stringify(JSON.parse(body))`
/// gives for bodies that need no escaping changes, key order kept (Scalapay and NovaSend
/// sign the re-serialised payload).
pub fn minify_json(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in body {
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !b.is_ascii_whitespace() {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod lenient_tests {
    use super::strings_at;

    #[test]
    fn references_are_read_leniently_from_any_json() {
        let body = br#"{"data": {"externalReference": " abc ", "transactionId": 12}, "x": ""}"#;
        assert_eq!(
            strings_at(body, &["/data/externalReference", "/data/transactionId", "/x", "/y"]),
            ["abc", "12"]
        );
        assert!(strings_at(b"not json", &["/a"]).is_empty());
    }
}
