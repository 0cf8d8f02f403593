#!/usr/bin/env bash
# Ships the <attention-playground> element in pkg/ (run by build-wasm.sh after wasm-bindgen):
# copies www/js (the view modules), www/css and the sample images to pkg/js, pkg/css, pkg/samples,
# points pkg/js/glue.js at the glue one folder up, adds pkg/element.js, and adds the "./element"
# subpath to pkg/package.json. The page imports the same modules from www/js directly.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f pkg/package.json ] || { echo "pkg-element: pkg/package.json missing; run scripts/build-wasm.sh" >&2; exit 1; }
rm -rf pkg/js pkg/css pkg/samples
cp -r www/js pkg/js
rm -f pkg/js/main.js # the page's boot, not part of the package
cp -r www/css pkg/css
mkdir -p pkg/samples && cp www/samples/*.jpg pkg/samples/
cat > pkg/js/glue.js <<'JS'
// Written by scripts/pkg-element.sh: in pkg/ the glue is one folder up (www/js/glue.js: ../pkg/).
export { default, Playground, wasmSimd, initThreads, threads } from '../attention_playground.js';
export const PKG = new URL('../', import.meta.url);
export const MODELS = new URL('../../models/', import.meta.url);
JS
cat > pkg/element.js <<'JS'
// `import 'attention-playground/element'` (or <script type="module" src="/pkg/element.js">)
// defines <attention-playground>; see README "Embedding".
export { AttentionPlayground } from './js/element.js';
JS
node -e '
const fs = require("fs"), p = "pkg/package.json", j = JSON.parse(fs.readFileSync(p, "utf8"));
j.exports = { ".": { types: "./attention_playground.d.ts", default: "./attention_playground.js" }, "./element": "./element.js", "./package.json": "./package.json" };
j.files = [...new Set([...(j.files ?? []), "element.js", "js/", "css/", "samples/"])];
j.sideEffects = [...new Set([...(j.sideEffects ?? []), "./element.js", "./js/element.js"])];
fs.writeFileSync(p, JSON.stringify(j, null, 2) + "\n");'
