#!/usr/bin/env bash
# Prepares www/models/: runs every executable scripts/models.d/*.sh in name order. Each one writes
# its model file into www/models/ and merges its key into www/models/manifest.json (see
# scripts/models.d/README.md). With no models yet, an empty manifest {} is written.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p www/models
[ -f www/models/manifest.json ] || echo '{}' > www/models/manifest.json
shopt -s nullglob
ran=0
for s in scripts/models.d/*.sh; do
  if [ -x "$s" ]; then
    printf '\033[1m[models]\033[0m %s\n' "$s"
    "$s"
    ran=$((ran + 1))
  fi
done
printf '\033[1m[models]\033[0m %d model script(s) run; manifest: %s\n' "$ran" "$(tr -d '\n ' < www/models/manifest.json)"
