#!/usr/bin/env bash
# Installs what building and testing need, and only what is missing (safe to run again):
#   apt:   chromium, mesa-vulkan-drivers, libvulkan1 (browser + software Vulkan for GPU tests);
#          rustc-web cargo-web rust-web-src lld (offline wasm32 route, used when rustup cannot
#          add the wasm32 target, and for the threads build where rustup has no rust-src)
#   cargo: wasm-bindgen-cli of exactly the version Cargo.toml pins (=x.y.z)
#   npm:   playwright-core (devDependency, drives Chromium in the browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

# --- apt ---------------------------------------------------------------------------------------
missing=()
for pkg in chromium mesa-vulkan-drivers libvulkan1 rustc-web cargo-web rust-web-src lld; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "apt: installing ${missing[*]}"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
  else
    say "WARNING: no apt-get; install these yourself: ${missing[*]}"
  fi
else
  say "apt: chromium, mesa-vulkan-drivers, libvulkan1, rustc-web, cargo-web, rust-web-src, lld present"
fi

# --- wasm-bindgen-cli --------------------------------------------------------------------------
want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" = "$want" ]; then
  say "wasm-bindgen-cli $want present"
else
  say "wasm-bindgen-cli: have '${have:-none}', need $want; cargo install (a few minutes)"
  # --locked first (reproducible); some registry mirrors lack a locked dependency, so retry unlocked.
  cargo install wasm-bindgen-cli --version "$want" --locked || cargo install wasm-bindgen-cli --version "$want"
fi

# --- npm ---------------------------------------------------------------------------------------
# Every devDependency (not only playwright-core: the a11y tests need axe-core) must be installed.
missing=$(node -e 'const fs = require("fs"), p = require("./package.json");
  console.log(Object.keys(p.devDependencies ?? {}).filter((d) => !fs.existsSync(`node_modules/${d}/package.json`)).join(" "))' 2>/dev/null || echo "?")
if [ -f node_modules/playwright-core/package.json ] && [ -z "$missing" ]; then
  say "npm: devDependencies present"
else
  command -v npm >/dev/null || { say "ERROR: npm missing (apt-get install nodejs npm)"; exit 1; }
  say "npm: installing devDependencies (playwright-core, axe-core; never downloads a browser)"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
say "ready"
