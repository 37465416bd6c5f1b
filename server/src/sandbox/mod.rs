//! Provider sandboxes: HTTP listeners that speak each provider's wire format, so that the
//! adapters, the demo and the tests run on one machine with no provider account.
//!
//! A sandbox is a real component reached over real HTTP, not a mock: it checks credentials and
//! request rules as the provider documents them, answers errors in the provider's shape, lets
//! payments wait for the customer and complete asynchronously, and sends signed webhooks.

pub mod novasend;
