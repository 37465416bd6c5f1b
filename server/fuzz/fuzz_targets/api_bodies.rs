//! Fuzzes the API's JSON bodies: arbitrary bytes through the verifier's JSON extractor as
//! `CreateCheckout`, `CreateRefund` and `PayRequest`, then the checks made on what it read
//! (`server::fuzzing::merchant_bodies`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    server::fuzzing::merchant_bodies(data);
});
