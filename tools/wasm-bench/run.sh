#!/bin/sh
# Builds the wasm dense bench (the same two routes as scripts/build-wasm.sh: a rustup toolchain
# with the wasm32 target if installed, else the offline Debian rustc-web route) and runs it in
# node, or in headless Chromium with `run.sh chromium`.
# Usage: tools/wasm-bench/run.sh [chromium]    (RELAXED=1: build with +relaxed-simd, i.e. FMA)
set -eu
cd "$(dirname "$0")"
T=wasm32-unknown-unknown
export RUSTFLAGS="-C target-feature=+simd128${RELAXED:+,+relaxed-simd}"
export CARGO_TARGET_DIR=target${RELAXED:+-relaxed}
if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx $T; then
  cargo build --release --target $T
else
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
    /usr/bin/cargo build --release --target $T -Zbuild-std=std,panic_abort
fi
wasm-bindgen --target web --out-dir pkg "$CARGO_TARGET_DIR/$T/release/wasm_dense_bench.wasm"
if [ "${1:-}" = chromium ]; then node chromium.mjs; else node ${RELAXED:+--experimental-wasm-relaxed-simd} run.mjs; fi
