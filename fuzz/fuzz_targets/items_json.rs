//! libFuzzer entry for the `items_json` target (see `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgerec_fuzz::items_json(data));
