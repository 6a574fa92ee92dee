//! libFuzzer entry for the `onnx_gate` target (see `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| edgerec_fuzz::onnx_gate(data));
