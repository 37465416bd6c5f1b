//! The only code that talks to payment providers.
//!
//! Each provider is one module implementing [`PaymentProvider`]; its wire types live in a
//! `wire` submodule, separate from the integration. HTTP execution, timeouts and error
//! classification are shared in [`http`].

use async_trait::async_trait;
use axum::http::HeaderMap;
use shared::{
    catalogue::ErrorCode,
    method::{PaymentMethod, Provider},
    money::Money,
    phone::{Country, PhoneNumber},
};

use crate::store::AttemptUpdate;

pub mod http;
pub mod novasend;

/// What the verifier asks a provider to do: take `money` from `phone`.
#[derive(Debug, Clone)]
pub struct StartPayment {
    /// Our reference for the attempt, also the idempotency key: the same on every retry.
    pub reference: String,
    /// What is charged (the checkout's amount, never the browser's).
    pub money: Money,
    /// The customer's number.
    pub phone: PhoneNumber,
    /// The method chosen.
    pub method: PaymentMethod,
    /// The checkout's country.
    pub country: Country,
    /// A label for the payer, when the provider wants one.
    pub customer_name: String,
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
}

/// A provider notification that passed verification.
#[derive(Debug, Clone)]
pub struct VerifiedNotice {
    /// A reference that identifies the attempt: ours or the provider's.
    pub reference: String,
    /// The state the notice reports, when it is explicit enough to apply as is; otherwise the
    /// verifier fetches the status.
    pub update: Option<AttemptUpdate>,
}

/// Why a notification was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature (or timestamp outside the window).
    #[error("the notification's signature is missing or wrong")]
    BadSignature,
    /// Signed correctly but unreadable.
    #[error("the notification's body is unreadable: {0}")]
    Malformed(String),
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

    /// Verifies a notification's signature over its raw body and reads it.
    fn verify_notice(&self, headers: &HeaderMap, body: &[u8]) -> Result<VerifiedNotice, WebhookError>;
}
