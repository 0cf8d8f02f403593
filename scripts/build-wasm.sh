#!/usr/bin/env bash
# Builds pkg/ (the wasm-bindgen ES module + .wasm + .d.ts + package.json) and links it into www/pkg.
#
# Route 1: a rustup toolchain with the wasm32-unknown-unknown target (installed now, or added within
#          60 s). Route 2 (offline, e.g. where rustup's download host is unreachable): Debian's
#          rustc-web builds std for wasm32 from rust-web-src (-Zbuild-std), with its own target dir.
# Either route builds the module twice, with SIMD128 and with SIMD128 + relaxed SIMD (see below),
# plus twice with threads (the same two, + atomics, std rebuilt with them: always -Zbuild-std, see
# build_threads). The threads builds are optional: if they fail (or THREADS=0), pkg/ holds the
# single-threaded builds only and init() always loads them; if only the relaxed one fails, the
# threads build is SIMD128 everywhere.
# wasm-opt is opt-in (WASM_OPT=1); WASM_ROUTE=offline forces route 2.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=wasm32-unknown-unknown
PROFILE=${PROFILE:-wasm}
say() { printf '\033[1m[build-wasm]\033[0m %s\n' "$*" >&2; }

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

target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-${CARGO_TARGET_DIR:-target}}
base_flags="${RUSTFLAGS:-}"

# build_variant FEATURES SUBDIR: builds the cdylib with those target features in its own target
# dir (RUSTFLAGS are part of no artifact's name, so two variants in one dir would rebuild each
# other every time); prints the .wasm path.
build_variant() {
  local features=$1 dir=$2
  export RUSTFLAGS="$base_flags -C target-feature=$features"
  if [ "$route" = rustup ]; then
    say "route: rustup toolchain with the $TARGET target ($features)"
    CARGO_TARGET_DIR=$target_dir/$dir cargo rustc --profile "$PROFILE" --lib --target "$TARGET" --crate-type cdylib >&2
    echo "$target_dir/$dir/$TARGET/$PROFILE/attention_playground.wasm"
  else
    say "route: offline Debian rustc-web + rust-web-src (-Zbuild-std) ($features)"
    for bin in /usr/bin/rustc /usr/bin/cargo; do
      [ -x "$bin" ] || { say "ERROR: $bin missing; run scripts/setup.sh (installs rustc-web cargo-web rust-web-src lld)"; exit 1; }
    done
    command -v wasm-ld >/dev/null || { say "ERROR: wasm-ld missing; run scripts/setup.sh (installs lld)"; exit 1; }
    # Debian's cargo must use Debian's rustc: keep rustup's shims out of the way.
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$target_dir/wasm-offline-$dir \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
      /usr/bin/cargo rustc --profile "$PROFILE" --lib --target "$TARGET" --crate-type cdylib -Zbuild-std=std,panic_abort >&2
    echo "$target_dir/wasm-offline-$dir/$TARGET/$PROFILE/attention_playground.wasm"
  fi
}

# build_threads SIMD SUBDIR: the cdylib with wasm threads (shared memory, rayon over Web Workers;
# feature `threads`) and SIMD (+simd128, or +simd128,+relaxed-simd). std must be rebuilt with
# +atomics, so this build always takes -Zbuild-std: with the rustup toolchain where its rust-src
# component is installed (RUSTC_BOOTSTRAP=1 lets stable take -Z), else with the offline route's
# Debian compiler. Prints the .wasm path.
build_threads() {
  local features=$1,+atomics,+bulk-memory,+mutable-globals dir=$2
  export RUSTFLAGS="$base_flags -C target-feature=$features"
  # Since Rust 1.92 (rust-lang/rust#147225) +atomics no longer makes rustc link a shared memory:
  # without these the module links with a private memory and wasm-bindgen silently emits
  # single-threaded glue (initThreads then traps in __externref_table_alloc). wasm-bindgen needs the
  # memory imported and the TLS symbols exported; 4 GiB is what wasm32 can address (older rustc
  # passed 1 GiB; the last --max-memory wins).
  local link=(-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align
    -C link-arg=--export=__tls_base)
  if [ "$route" = rustup ] && rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
    say "route: rustup toolchain + rust-src (-Zbuild-std) ($features)"
    RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$target_dir/$dir \
      cargo rustc --profile "$PROFILE" --lib --target "$TARGET" --crate-type cdylib --features threads -Zbuild-std=std,panic_abort -- "${link[@]}" >&2 || return 1
    echo "$target_dir/$dir/$TARGET/$PROFILE/attention_playground.wasm"
  else
    [ "$route" = rustup ] && say "no rust-src in the rustup toolchain: the threads build takes the offline route"
    for bin in /usr/bin/rustc /usr/bin/cargo; do
      [ -x "$bin" ] || { say "the threads build needs std sources: 'rustup component add rust-src', or scripts/setup.sh (Debian rustc-web rust-web-src lld)"; return 1; }
    done
    command -v wasm-ld >/dev/null || { say "the threads build needs wasm-ld: scripts/setup.sh (installs lld)"; return 1; }
    say "route: offline Debian rustc-web + rust-web-src (-Zbuild-std) ($features)"
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$target_dir/wasm-offline-$dir \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
      /usr/bin/cargo rustc --profile "$PROFILE" --lib --target "$TARGET" --crate-type cdylib --features threads -Zbuild-std=std,panic_abort -- "${link[@]}" >&2 || return 1
    echo "$target_dir/wasm-offline-$dir/$TARGET/$PROFILE/attention_playground.wasm"
  fi
}

want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
[ "$have" = "$want" ] || { say "ERROR: wasm-bindgen CLI $have does not match the crate's =$want; run scripts/setup.sh"; exit 1; }

# Two builds of the same code: SIMD128 (every engine with wasm SIMD) and SIMD128 + relaxed SIMD
# (fused multiply-add in the CPU matmuls: 12-23 % faster model forwards). Their JS glue is the
# same; the default init() picks the relaxed one where WebAssembly.validate accepts relaxed SIMD.
wasm_base=$(build_variant +simd128 wasm-simd128)
wasm_relaxed=$(build_variant +simd128,+relaxed-simd wasm-relaxed)
for f in "$wasm_base" "$wasm_relaxed"; do [ -f "$f" ] || { say "ERROR: $f was not produced"; exit 1; }; done
# The threads builds, SIMD128 and relaxed SIMD (one thread of the relaxed one is 12-23 % faster;
# Firefox and Safari have no relaxed SIMD and get the SIMD128 one, chosen as for the others).
wasm_threads="" wasm_threads_relaxed=""
if [ "${THREADS:-1}" = 0 ]; then
  say "THREADS=0: no threads build"
elif ! wasm_threads=$(build_threads +simd128 wasm-threads) || [ ! -f "$wasm_threads" ]; then
  wasm_threads=""
elif ! wasm_threads_relaxed=$(build_threads +simd128,+relaxed-simd wasm-threads-relaxed) || [ ! -f "$wasm_threads_relaxed" ]; then
  say "WARNING: the relaxed-SIMD threads build failed (see above); the threads build is SIMD128 only"
  wasm_threads_relaxed=""
fi
[ -n "$wasm_threads" ] || [ "${THREADS:-1}" = 0 ] \
  || say "WARNING: the threads build failed (see above); building the single-threaded builds only (the CPU path will use one core)"

# relaxed_url GLUE: the glue's default wasm URL becomes a choice between its SIMD128 and relaxed
# SIMD files, made once by feature detection.
relaxed_url() {
  local glue=$1 default_url="new URL('attention_playground_bg.wasm', import.meta.url)"
  [ "$(grep -cF "$default_url" "$glue")" = 1 ] \
    || { say "ERROR: wasm-bindgen's default wasm URL was not found once in $glue; update this script"; exit 1; }
  sed -i "s|new URL('attention_playground_bg.wasm', import.meta.url)|new URL(__relaxedSimd() ? 'attention_playground_relaxed_bg.wasm' : 'attention_playground_bg.wasm', import.meta.url)|" "$glue"
  cat >> "$glue" <<'JS'

// Added by scripts/build-wasm.sh: does this engine take relaxed SIMD? (A module whose one function
// is f32x4.relaxed_madd of three splats.)
function __relaxedSimd() {
    try {
        return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
            10, 28, 1, 26, 0, 67, 0, 0, 0, 0, 253, 19, 67, 0, 0, 0, 0, 253, 19, 67, 0, 0, 0, 0, 253, 19, 253, 133, 2, 11]));
    } catch {
        return false;
    }
}
JS
}

rm -rf pkg
say "wasm-bindgen --target web --out-dir pkg (both builds)"
wasm-bindgen --target web --out-dir pkg "$wasm_base"
relaxed_tmp=$(mktemp -d)
trap 'rm -rf "$relaxed_tmp"' EXIT
wasm-bindgen --target web --out-dir "$relaxed_tmp" "$wasm_relaxed"
cmp -s pkg/attention_playground.js "$relaxed_tmp/attention_playground.js" \
  || { say "ERROR: the two builds' JS glue differs; they cannot share attention_playground.js"; exit 1; }
mv "$relaxed_tmp/attention_playground_bg.wasm" pkg/attention_playground_relaxed_bg.wasm
# The threads build has glue of its own (shared memory, the worker snippet): pkg/threads/.
# wasm-bindgen emits threaded glue only for a module with a shared memory; without one the glue
# would load but initThreads would trap, so such a build is dropped.
if [ -n "$wasm_threads" ]; then
  say "wasm-bindgen --target web --out-dir pkg/threads (threads build)"
  if wasm-bindgen --target web --out-dir pkg/threads "$wasm_threads" && grep -q 'shared:true' pkg/threads/attention_playground.js; then
    rm -f pkg/threads/*.d.ts pkg/threads/package.json
    if [ -n "$wasm_threads_relaxed" ]; then
      threads_tmp=$(mktemp -d)
      if wasm-bindgen --target web --out-dir "$threads_tmp" "$wasm_threads_relaxed" \
         && cmp -s pkg/threads/attention_playground.js "$threads_tmp/attention_playground.js"; then
        mv "$threads_tmp/attention_playground_bg.wasm" pkg/threads/attention_playground_relaxed_bg.wasm
        relaxed_url pkg/threads/attention_playground.js
      else
        say "WARNING: the relaxed-SIMD threads build's glue differs from the SIMD128 one's: dropping it"
      fi
      rm -rf "$threads_tmp"
    fi
  else
    say "WARNING: the threads build has no shared memory (or wasm-bindgen failed): dropping it; single-threaded builds only"
    rm -rf pkg/threads
    wasm_threads=""
  fi
fi

relaxed_url pkg/attention_playground.js

# pkg/attention_playground.js chooses between the two glues when init() is called (see the file).
mv pkg/attention_playground.js pkg/attention_playground_st.js
exports=$(sed -n 's/^export \(class\|function\|const\) \([A-Za-z_$][A-Za-z0-9_$]*\).*/\2/p' pkg/attention_playground_st.js | grep -v '^initSync$' | sort -u)
[ -n "$exports" ] || { say "ERROR: no exports found in the glue; update this script"; exit 1; }
{
  cat scripts/wasm-chooser.js
  echo "const THREADS_BUILD = $([ -n "$wasm_threads" ] && echo true || echo false);"
  for name in $exports; do echo "export let $name;"; done
  echo "function bind(glue) {"
  for name in $exports; do echo "    $name = glue.$name;"; done
  echo "}"
} > pkg/attention_playground.js

if [ "${WASM_OPT:-0}" != 1 ] || [ "${SKIP_WASM_OPT:-0}" = 1 ]; then
  say "wasm-opt skipped (opt-in with WASM_OPT=1; Debian's binaryen 108 breaks wasm-bindgen output)"
elif command -v wasm-opt >/dev/null 2>&1; then
  for w in pkg/attention_playground_bg.wasm pkg/attention_playground_relaxed_bg.wasm ${wasm_threads:+pkg/threads/attention_playground_bg.wasm} \
           $([ -f pkg/threads/attention_playground_relaxed_bg.wasm ] && echo pkg/threads/attention_playground_relaxed_bg.wasm); do
    say "wasm-opt -O3 $w ($(wasm-opt --version 2>/dev/null | head -1))"
    if wasm-opt -O3 --enable-simd --enable-relaxed-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
         --enable-mutable-globals --enable-threads "$w" -o "$w.opt"; then
      mv "$w.opt" "$w"
    else
      rm -f "$w.opt"
      say "wasm-opt failed on $w; keeping it unoptimized (it is still correct)"
    fi
  done
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
  "files": ["attention_playground_bg.wasm", "attention_playground_relaxed_bg.wasm", "attention_playground.js", "attention_playground_st.js", "threads/", "attention_playground.d.ts", "attention_playground_bg.wasm.d.ts"],
  "sideEffects": ["./snippets/*", "./threads/snippets/*"]
}
JSON

# ---- the <attention-playground> element (pkg/element.js, pkg/js, pkg/css): see that script ----
./scripts/pkg-element.sh
# ----

# The page imports ./pkg/attention_playground.js; copy (not link) so any static server works.
rm -rf www/pkg
cp -r pkg www/pkg
threads_size=$([ -n "$wasm_threads" ] && du -h pkg/threads/attention_playground_bg.wasm | cut -f1 || echo "no")
[ -f pkg/threads/attention_playground_relaxed_bg.wasm ] && threads_size="$threads_size + $(du -h pkg/threads/attention_playground_relaxed_bg.wasm | cut -f1) relaxed"
say "done: pkg/ ($(du -h pkg/attention_playground_bg.wasm | cut -f1) + $(du -h pkg/attention_playground_relaxed_bg.wasm | cut -f1) relaxed + $threads_size threads wasm) and www/pkg"
