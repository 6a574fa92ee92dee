#!/usr/bin/env bash
# Lints the Rust before any test runs: rustfmt, then clippy with every warning an error (missing
# docs among them: the crates say #![warn(missing_docs)]) on each build of the crate: natively the
# default, ONNX and GPU builds (library, tests, examples, and the evaluator in tools/evaluation),
# and the wasm32 library of each wasm build (CPU, GPU, ONNX).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo fmt --check --manifest-path fuzz/Cargo.toml

clippy() { cargo clippy --locked "$@" -- -D warnings; }
clippy --workspace --all-targets
clippy --workspace --all-targets --features onnx
clippy --workspace --all-targets --features gpu
# In the target directories of the wasm builds (wasm-pack.toml), which keep their dependencies
# checked between runs and never invalidate the native builds' crates.
CARGO_TARGET_DIR=target/wasm-cpu clippy --lib --target wasm32-unknown-unknown
CARGO_TARGET_DIR=target/wasm-gpu clippy --lib --target wasm32-unknown-unknown --features gpu
CARGO_TARGET_DIR=target/wasm-onnx clippy --lib --target wasm32-unknown-unknown --features onnx
