#!/usr/bin/env bash
# Runs every test: the Rust lints, the Rust core natively (CPU, then the GPU path over Vulkan), then
# the wasm package under Node, in headless Chromium, at the edge, and packed: built by four
# bundlers, in three runtimes.
set -euo pipefail
cd "$(dirname "$0")/.."

# rustfmt and clippy (warnings are errors) on every build, natively and for wasm32.
bash scripts/lint.sh
# The default build (plain-weights models), then the ONNX build: the same tests, and the plain
# path against tract on the shipped bundles and on random encoders of every shape; with the
# evaluator's crate (tools/evaluation: the shipped bundles' drift check, the pricing simulation).
cargo test --locked --workspace
cargo test --locked --workspace --features onnx
# The GPU path on native wgpu over Vulkan (lavapipe here), against the CPU path.
cargo test --locked --features gpu --test gpu_ranking
npm run build
# The bring-your-own-data checks on broken files (standard library only); the end-to-end test
# (after the build: it loads the bundle in the package) runs where the training packages are
# installed and is skipped elsewhere.
python3 -m unittest discover -s tests/python
node --test tests/js/ tests/browser/ tests/edge/ tests/bundlers/
# The package's API tests again, every engine on the ONNX build.
EDGEREC_TEST_BUILD=onnx node --test tests/js/
