//! Provider sandboxes: HTTP listeners that speak NovaSend's, CaurisFlux's, Scalapay's and
//! MyPVit's wire formats, so that the verifier, the demo and the tests run on one machine with
//! no provider account.
//!
//! A sandbox is an independent witness, not a mock: its wire types, header names, paths and
//! signatures are written here from each provider's public documents (each module cites its
//! pages), and this crate shares no code with the verifier's adapters (it depends on no crate
//! of the workspace but `shared`, for phone numbers only: amounts and currencies are each
//! sandbox's own, such as [`scalapay::euros`]). A mistake in an adapter then shows as a failing
//! test instead of being mirrored by its sandbox.
//!
//! Each sandbox checks credentials and request rules as the provider documents them, answers
//! errors in the provider's shape, lets payments wait for the customer and complete
//! asynchronously, and sends signed webhooks ([`delivery`]). Every sandbox can also be told to
//! misbehave ([`misbehave`]): send a webhook twice, late, never, out of order or badly signed,
//! answer 500, hang, or take a payment and lose the answer; globally or for one payment,
//! through `POST /_sandbox/misbehave`.
//!
//! [`start_all`] starts the four with one [`AllConfig`]; each provider's module has its own
//! `start`. The `provider-sandbox` binary runs them from the command line.

pub mod caurisflux;
pub mod delivery;
pub mod misbehave;
pub mod mypvit;
pub mod novasend;
pub mod scalapay;

mod all;
mod common;

pub use all::{AllConfig, Sandboxes, Setup, start_all};
pub use common::Running;
