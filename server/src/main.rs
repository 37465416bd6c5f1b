//! The verifier binary.
fn main(){}
