#!/bin/sh
# Builds the wasm dense bench with the offline Debian toolchain route (see shared ENVIRONMENT.md)
# and runs it in node. Usage: tools/wasm-bench/run.sh   (EXTRA_FEATURES=+relaxed-simd to try FMA)
set -eu
cd "$(dirname "$0")"
RUSTC=${RUSTC:-/usr/bin/rustc} RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
RUSTFLAGS="-C target-feature=+simd128${EXTRA_FEATURES:+,$EXTRA_FEATURES}" \
/usr/bin/cargo build --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort
wasm-bindgen --target web --out-dir pkg target/wasm32-unknown-unknown/release/wasm_dense_bench.wasm
node run.mjs
