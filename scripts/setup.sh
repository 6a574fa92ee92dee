#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test edgerec: the wasm target, Debian's
# Chromium, pinned wasm-pack and wasm-bindgen-cli, and the npm packages. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
# Must equal the wasm-bindgen crate's version pinned in Cargo.toml.
WASM_BINDGEN_VERSION=0.2.130

rustup target add wasm32-unknown-unknown

# Debian's Chromium for the browser tests (playwright-core drives it; it never downloads a
# browser), and Mesa's Vulkan drivers: lavapipe, the adapter the native GPU tests run on.
if ! command -v chromium >/dev/null 2>&1 || ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium mesa-vulkan-drivers libvulkan1
fi

if ! wasm-pack --version 2>/dev/null | grep -q "$WASM_PACK_VERSION"; then
  cargo install --locked wasm-pack --version "$WASM_PACK_VERSION"
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # Not --locked: its lock file pins a webpki-roots release that crates.io no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# Python 3 with the training packages pinned in models/training/requirements.txt (PyTorch,
# Opacus, ONNX Runtime, …), for the training tests: DP training and its record, bring-your-own-data
# end to end. pip skips what is installed at the pinned version.
if ! command -v python3 >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pip
fi
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -r models/training/requirements.txt

# Not `npm ci`: it wants lock entries for every platform's optional binaries of deno and workerd,
# which the registry here does not serve; `npm install` installs the locked versions all the same.
npm install --no-audit --no-fund
