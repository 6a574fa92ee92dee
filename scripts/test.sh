#!/usr/bin/env bash
# Runs every test: the Rust core natively, then the wasm package under Node and in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked
npm run build
node --test tests/js/ tests/browser/
