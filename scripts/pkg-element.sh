#!/usr/bin/env bash
# Ships the <attention-playground> element in pkg/ (run by build-wasm.sh after wasm-bindgen):
# copies www/js (the view modules), www/css and the sample images to pkg/js, pkg/css, pkg/samples,
# points pkg/js/glue.js at the glue one folder up, adds pkg/element.js and pkg/worker.js (+ .d.ts), and adds the "./element"
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
cat > pkg/worker.js <<'JS'
// `import { Playground } from 'attention-playground/worker'`: the same API as the package's main
// module, with the wasm module in a dedicated Worker (README "API", "Off the main thread").
export { Playground, wasmSimd, threads, initThreads, engineThread, ready } from './js/worker-client.js';
JS
cat > pkg/worker.d.ts <<'TS'
// Written by scripts/pkg-element.sh: the types of pkg/worker.js.
import type {
  AttentionOptions, AttentionResult, CreateOptions, BackendChange, LoadProgress, MultiHeadOptions, MultiHeadResult,
  RolloutOptions, RunTextOptions, TextModelInfo, TextResult, VisionModelInfo, ImageResult,
  ProjectOptions, ProjectionResult, RunImageOptions,
} from './attention_playground.js';

/** The glue's Playground with the wasm module in a Worker: the same methods, every one a Promise. */
export class Playground {
  private constructor();
  /** Starts the engine (once per page) and a Playground there. */
  static create(opts?: CreateOptions): Promise<Playground>;
  /** Computed on the calling thread (synchronous, as the glue's). */
  static sinusoidal(seq: number, dim: number): Float32Array;
  readonly backend: 'webgpu' | 'cpu';
  readonly fallbackReason: string | undefined;
  onbackendchange: ((e: BackendChange) => void) | null;
  attention(opts: AttentionOptions): Promise<AttentionResult>;
  multiHead(opts: MultiHeadOptions): Promise<MultiHeadResult>;
  rollout(maps: Float32Array | number[], layers: number, heads: number, seq: number, opts?: RolloutOptions): Promise<Float32Array>;
  loadTextModel(url: string, onProgress?: (p: LoadProgress) => void): Promise<TextModelInfo>;
  runText(text: string, pair?: string | null, options?: RunTextOptions): Promise<TextResult>;
  project(points: Float32Array | number[], rows: number, dim: number, options?: ProjectOptions): Promise<ProjectionResult>;
  loadTextModelFiles(files: File[], onProgress?: (p: LoadProgress) => void): Promise<TextModelInfo>;
  loadVisionModel(url: string, onProgress?: (p: LoadProgress) => void): Promise<VisionModelInfo>;
  loadVisionModelFiles(files: File[], onProgress?: (p: LoadProgress) => void): Promise<VisionModelInfo>;
  runImage(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, options?: RunImageOptions): Promise<ImageResult>;
  simulateDeviceLoss(): Promise<void>;
  /** Frees the engine's Playground and its GPU device. */
  free(): void;
}
/** Starts the engine once: `build` forces a wasm build; `worker: false` runs it on this thread. */
export function ready(opts?: { build?: 'simd128' | 'relaxed' | 'threads' | 'threads-relaxed'; worker?: boolean }): Promise<unknown>;
/** The wasm build the engine runs; throws before the engine has started. */
export function wasmSimd(): 'relaxed' | 'simd128';
/** How many threads the engine's CPU path uses (1 unless the threads build started its pool). */
export function threads(): number;
/** How many of the engine's pool threads the CPU path uses from now on (clamped to the pool; 1 in
 *  the single-threaded builds); resolves to the count. */
export function initThreads(n?: number): Promise<number>;
/** Where the engine runs, and why not in a worker when it could not start one. */
export function engineThread(): { thread: 'worker' | 'main' | 'none'; notice: string | null };
TS
node -e '
const fs = require("fs"), p = "pkg/package.json", j = JSON.parse(fs.readFileSync(p, "utf8"));
j.exports = { ".": { types: "./attention_playground.d.ts", default: "./attention_playground.js" }, "./element": "./element.js", "./worker": { types: "./worker.d.ts", default: "./worker.js" }, "./package.json": "./package.json" };
j.files = [...new Set([...(j.files ?? []), "element.js", "worker.js", "worker.d.ts", "js/", "css/", "samples/"])];
j.sideEffects = [...new Set([...(j.sideEffects ?? []), "./element.js", "./js/element.js"])];
fs.writeFileSync(p, JSON.stringify(j, null, 2) + "\n");'
