//! The verifier: the payment server a merchant hosts.
//!
//! It alone holds the providers' secret keys. It creates checkouts for the merchant's backend
//! (merchant API, secret key), starts provider sessions for the widget (public API, client
//! secret), verifies provider webhooks, polls providers when webhooks do not come, and streams
//! status changes to the widget. Provider simulators for tests and the demo are another
//! program (`provider-sandbox`), which shares no code with this one.
//!
//! Map: [`startup`] wires everything; [`routes`] are thin HTTP handlers; [`checkouts`] is the
//! payment logic; [`store`] is persistence behind one trait; [`providers`] are the only code
//! that talks to payment providers.

pub mod checkouts;
pub mod config;
pub mod crashpoints;
pub mod dashboard;
pub mod error;
pub mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod idempotency;
pub mod ids;
pub mod inbox;
pub mod merchant_keys;
pub mod metrics;
pub mod outbox;
pub mod providers;
pub mod qr;
pub mod readiness;
pub mod reconcile;
pub mod redact;
pub mod refused;
pub mod retention;
pub mod routes;
pub mod routing;
pub mod serve;
pub mod shutdown;
pub mod signals;
pub mod startup;
pub mod store;
pub mod telemetry;
