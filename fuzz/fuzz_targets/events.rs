//! libFuzzer entry for the `events` target (see `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgerec_fuzz::events(data));
