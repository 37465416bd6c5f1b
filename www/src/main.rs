//! The demo shop binary.
fn main(){}
