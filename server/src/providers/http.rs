//! The HTTP client shared by provider adapters: one connection pool, timeouts, and the
//! classification of transport failures as "outcome unknown".

use std::time::Duration;

use super::ProviderError;

/// Builds the client used for one provider, with its request timeout.
pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("checkout-verifier/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// A transport error: the request may or may not have reached the provider.
pub fn transport(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Unavailable("timed out".into())
    } else {
        ProviderError::Unavailable(format!("transport error: {e}"))
    }
}
