//! libFuzzer entry for the `manifest` target (see `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgerec_fuzz::manifest(data));
