//! End-to-end tests, compiled as one binary: the verifier, the provider sandboxes and the demo
//! shop run for real on port 0; everything goes over real HTTP (and a real browser in
//! `browser`).

mod bad_input;
mod browser;
mod caurisflux;
mod flow;
mod mypvit;
mod notifications;
mod novasend;
mod refunds;
mod scalapay;
