#!/usr/bin/env bash
# Builds pkg/ (the wasm-bindgen ES module + .wasm + .d.ts + package.json) and links it into www/pkg.
#
# Route 1: a rustup toolchain with the wasm32-unknown-unknown target (installed now, or added within
#          60 s). Route 2 (offline, e.g. where rustup's download host is unreachable): Debian's
#          rustc-web builds std for wasm32 from rust-web-src (-Zbuild-std), with its own target dir.
# Both routes enable simd128. wasm-opt is opt-in (WASM_OPT=1); WASM_ROUTE=offline
# forces route 2.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=wasm32-unknown-unknown
PROFILE=${PROFILE:-wasm}
say() { printf '\033[1m[build-wasm]\033[0m %s\n' "$*"; }

route=""
if [ "${WASM_ROUTE:-}" = offline ]; then
  say "WASM_ROUTE=offline: not trying rustup"
elif command -v rustup >/dev/null 2>&1; then
  if rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    route=rustup
  else
    say "wasm32 target missing; trying 'rustup target add $TARGET' (60 s timeout)"
    if timeout 60 rustup target add "$TARGET"; then route=rustup; else say "rustup could not add the target"; fi
  fi
fi

export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128"
# Where cargo really puts things (CARGO_TARGET_DIR, .cargo/config.toml or ./target).
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-${CARGO_TARGET_DIR:-target}}
if [ "$route" = rustup ]; then
  say "route: rustup toolchain with the $TARGET target"
  cargo rustc --profile "$PROFILE" --lib --target "$TARGET" --crate-type cdylib
  out_dir=$target_dir/$TARGET/$PROFILE
else
  say "route: offline Debian rustc-web + rust-web-src (-Zbuild-std), target dir target/wasm-offline"
  for bin in /usr/bin/rustc /usr/bin/cargo; do
    [ -x "$bin" ] || { say "ERROR: $bin missing; run scripts/setup.sh (installs rustc-web cargo-web rust-web-src lld)"; exit 1; }
  done
  command -v wasm-ld >/dev/null || { say "ERROR: wasm-ld missing; run scripts/setup.sh (installs lld)"; exit 1; }
  # Debian's cargo must use Debian's rustc: keep rustup's shims out of the way.
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$target_dir/wasm-offline \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
    /usr/bin/cargo rustc --profile "$PROFILE" --lib --target "$TARGET" --crate-type cdylib -Zbuild-std=std,panic_abort
  out_dir=$target_dir/wasm-offline/$TARGET/$PROFILE
fi

wasm_in=$out_dir/attention_playground.wasm
[ -f "$wasm_in" ] || { say "ERROR: $wasm_in was not produced"; exit 1; }

want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
[ "$have" = "$want" ] || { say "ERROR: wasm-bindgen CLI $have does not match the crate's =$want; run scripts/setup.sh"; exit 1; }

rm -rf pkg
say "wasm-bindgen --target web --out-dir pkg"
wasm-bindgen --target web --out-dir pkg "$wasm_in"

# Opt-in: Debian's wasm-opt 108 mangles wasm-bindgen's reference-types table setup (the module then
# fails to load: "WebAssembly.Table.set(): Argument 1 is invalid for table"). WASM_OPT=1 runs it.
if [ "${WASM_OPT:-0}" != 1 ] || [ "${SKIP_WASM_OPT:-0}" = 1 ]; then
  say "wasm-opt skipped (opt-in with WASM_OPT=1; Debian's binaryen 108 breaks wasm-bindgen output)"
elif command -v wasm-opt >/dev/null 2>&1; then
  say "wasm-opt -O3 --enable-simd ($(wasm-opt --version 2>/dev/null | head -1))"
  if wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
       --enable-mutable-globals pkg/attention_playground_bg.wasm -o pkg/attention_playground_bg.opt.wasm; then
    mv pkg/attention_playground_bg.opt.wasm pkg/attention_playground_bg.wasm
  else
    rm -f pkg/attention_playground_bg.opt.wasm
    say "wasm-opt failed; keeping the unoptimized .wasm (it is still correct)"
  fi
else
  say "wasm-opt not found; skipping the optional size/speed pass"
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cat > pkg/package.json <<JSON
{
  "name": "attention-playground",
  "version": "$version",
  "description": "Attention computed live in WGSL kernels through WebGPU, with a Rust CPU fallback",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "module": "attention_playground.js",
  "main": "attention_playground.js",
  "types": "attention_playground.d.ts",
  "files": ["attention_playground_bg.wasm", "attention_playground.js", "attention_playground.d.ts", "attention_playground_bg.wasm.d.ts"],
  "sideEffects": ["./snippets/*"]
}
JSON

# The page imports ./pkg/attention_playground.js; copy (not link) so any static server works.
rm -rf www/pkg
cp -r pkg www/pkg
say "done: pkg/ ($(du -h pkg/attention_playground_bg.wasm | cut -f1) wasm) and www/pkg"
