//! libFuzzer entry for the `item_table` target (see `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgerec_fuzz::item_table(data));
