//! libFuzzer entry for the `session_store` target (see `src/lib.rs`), with room for inputs that
//! fill a store past its byte cap.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgerec_fuzz::store_operations(data, 100_000));
