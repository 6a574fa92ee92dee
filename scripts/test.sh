#!/usr/bin/env bash
# Runs every test: the Rust core natively (CPU, then the GPU path over Vulkan), then the wasm package under Node and in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

# The bring-your-own-data checks on broken files (standard library only); the end-to-end test
# runs where the training packages are installed and is skipped elsewhere.
python3 -m unittest discover -s tests/python
cargo test --locked
# The GPU path on native wgpu over Vulkan (lavapipe here), against the CPU path.
cargo test --locked --features gpu --test gpu_ranking
npm run build
node --test tests/js/ tests/browser/ tests/edge/
