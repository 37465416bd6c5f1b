//! End-to-end tests, compiled as one binary: the verifier, the provider sandboxes and the demo
//! shop run for real on port 0; everything goes over real HTTP (and a real browser in
//! `browser`).

mod abuse_limits;
mod bad_input;
mod browser;
mod browser_embed;
mod browser_outcome;
mod browser_paths;
mod browser_waiting;
mod cancel;
mod caurisflux;
mod edge;
mod flow;
mod forged_flood;
mod hangups;
mod idempotency;
mod instances;
mod kill;
mod livemode;
mod merchant_api;
mod merchant_keys;
mod merchant_webhooks;
mod money;
mod mypvit;
mod notifications;
mod novasend;
mod qr;
mod rate_limits;
mod reconcile;
mod refunds;
mod routing;
mod scalapay;
mod service;
mod sse;
mod widget_assets;
