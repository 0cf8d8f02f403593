#!/usr/bin/env bash
# Prints www/models/<file> for manifest key $1 when that file exists and has a content-addressed
# name (<stem>.<16 hex>.<ext>, written by `convert … --manifest`); prints nothing otherwise.
# For scripts/models.d/*.sh: "is the published model newer than its source?"
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - "$1" <<'PY'
import json, os, re, sys
try:
    name = json.load(open("www/models/manifest.json")).get(sys.argv[1], "")
except (OSError, ValueError):
    name = ""
path = os.path.join("www/models", name)
if isinstance(name, str) and re.fullmatch(r"[^/]+\.[0-9a-f]{16}\.[^./]+", name) and os.path.isfile(path):
    print(path)
PY
