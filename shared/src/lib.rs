//! Types and validation shared by the widget (wasm32) and the verifier (native).
//!
//! Architecture invariant: this crate performs no I/O and depends on neither axum, sqlx nor
//! yew, so that both sides agree on what a phone number, an amount or a payment state is.
//! Values are parsed once into these types at the edges ("parse, don't validate").

pub mod api;
pub mod catalogue;
pub mod limits;
pub mod locale;
pub mod method;
pub mod money;
pub mod phone;
pub mod status;
pub mod ussd;
