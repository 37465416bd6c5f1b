//! The four sandboxes at once, for the tests and the `provider-sandbox all` command.

use crate::{caurisflux, common::Running, mypvit, novasend, scalapay};

/// One sandbox's settings: how it runs, and the merchant account it serves.
#[derive(Debug, Clone)]
pub struct Setup<C, M> {
    /// How it runs (listen address, delays).
    pub config: C,
    /// The merchant's credentials and webhook target.
    pub merchant: M,
}

/// The four sandboxes' settings.
#[derive(Debug, Clone)]
pub struct AllConfig {
    /// NovaSend.
    pub novasend: Setup<novasend::SandboxConfig, novasend::Merchant>,
    /// CaurisFlux.
    pub caurisflux: Setup<caurisflux::SandboxConfig, caurisflux::Merchant>,
    /// Scalapay.
    pub scalapay: Setup<scalapay::SandboxConfig, scalapay::Merchant>,
    /// MyPVit.
    pub mypvit: Setup<mypvit::SandboxConfig, mypvit::Merchant>,
}

/// The four sandboxes, running; dropping this stops them.
#[derive(Debug)]
pub struct Sandboxes {
    /// NovaSend.
    pub novasend: Running,
    /// CaurisFlux (its [`Running::api_url`] ends in `/api/v1`).
    pub caurisflux: Running,
    /// Scalapay.
    pub scalapay: Running,
    /// MyPVit.
    pub mypvit: Running,
}

/// Starts the four, each on its own listener.
pub async fn start_all(config: AllConfig) -> anyhow::Result<Sandboxes> {
    Ok(Sandboxes {
        novasend: novasend::start(config.novasend.config, config.novasend.merchant).await?,
        caurisflux: caurisflux::start(config.caurisflux.config, config.caurisflux.merchant).await?,
        scalapay: scalapay::start(config.scalapay.config, config.scalapay.merchant).await?,
        mypvit: mypvit::start(config.mypvit.config, config.mypvit.merchant).await?,
    })
}
