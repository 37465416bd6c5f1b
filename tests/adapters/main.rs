//! Each adapter of the verifier against its provider's sandbox (the separate
//! `provider-sandbox` crate) over real HTTP: the adapter speaks to a witness written from the
//! provider's documents, not to code it shares.

mod caurisflux;
mod caurisflux_variants;
mod mypvit;
mod mypvit_xml;
mod novasend_variants;
mod scalapay;
