//! The checkout widget (placeholder while the crate is written).
