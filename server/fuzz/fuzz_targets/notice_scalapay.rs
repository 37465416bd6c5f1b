//! Fuzzes Scalapay's notification handling: arbitrary headers and body (signed by the harness or
//! not) through the adapter's `verify_notice`, `event_id` and `claimed_references`
//! (`server::fuzzing::notice`, whose doc gives the input's form).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    server::fuzzing::notice(shared::method::Provider::Scalapay, data);
});
