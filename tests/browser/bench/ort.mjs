// onnxruntime-web beside our engine in the browser benches: its wasm build (a devDependency,
// pinned in package.json) and the ONNX files are copied under www/models/ (ignored by git) so the
// page loads them from the same local server — no CDN. Used by vision.bench.mjs and text.bench.mjs.
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const ORT_VERSION = '1.30.0';
export const ORT_LABEL = `onnxruntime-web ${ORT_VERSION} (wasm, 1 thread)`;
export const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/**
 * Makes onnxruntime-web and `models` (pairs [path under the repo root, file name]) loadable from
 * the page as `models/ort/…` and `models/<name>`. Installs the pinned package if it is missing.
 */
export function prepareOrt(log, models) {
  const dist = join(ROOT, 'node_modules/onnxruntime-web/dist');
  if (!existsSync(dist)) {
    log(`installing the devDependencies (onnxruntime-web@${ORT_VERSION}): npm ci`);
    execSync('npm ci --no-audit --no-fund', { cwd: ROOT, stdio: 'inherit' });
  }
  const out = join(ROOT, 'www/models/ort');
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(dist)) {
    if (/^ort\.wasm\.min\.mjs$|^ort-wasm-simd-threaded\.(wasm|mjs)$/.test(f)) copyFileSync(join(dist, f), join(out, f));
  }
  for (const [src, name] of models) {
    const from = join(ROOT, src);
    if (!existsSync(from)) throw new Error(`${from} is missing: run make models`);
    copyFileSync(from, join(ROOT, 'www/models', name));
  }
}

/** Median of an array of numbers, as a function source the page can `eval` too. */
/** The page's main-thread CPU time so far (ms), from Chromium's DevTools `ThreadTime` metric:
 *  unlike wall time, it does not grow when other processes take the CPU. Both engines run on the
 *  main thread (onnxruntime-web with 1 thread and no proxy worker). */
export async function mainThreadMs(page) {
  page.cdp ??= await page.context().newCDPSession(page);
  if (!page.cdpOn) {
    await page.cdp.send('Performance.enable');
    page.cdpOn = true;
  }
  const { metrics } = await page.cdp.send('Performance.getMetrics');
  return 1000 * metrics.find((m) => m.name === 'ThreadTime').value;
}

export const MEDIAN = '(times) => [...times].sort((a, b) => a - b)[times.length >> 1]';

// The DINOv2 benches' input, as source to eval in node or in the page: a smooth 224×224 RGBA
// stand-in for a photo (content does not change the cost), and the ORT feeds made from it by the
// preprocessing runImage applies (RGB/255, ImageNet mean/std, NCHW).
export const SAMPLE_RGBA = '() => Uint8Array.from({ length: 224 * 224 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (Math.sin(i * 0.01) * 127 + 128) | 0))';
export const VISION_FEEDS = `(ort, rgba) => {
  const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];
  const x = new Float32Array(3 * 224 * 224);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 224 * 224; i++) x[c * 224 * 224 + i] = (rgba[4 * i + c] / 255 - MEAN[c]) / STD[c];
  return { input_image: new ort.Tensor('float32', x, [1, 3, 224, 224]) };
}`;
export const median = eval(MEDIAN);

/**
 * Times onnxruntime-web (wasm backend, 1 thread) on `models/<model>` in `page`: one warm-up run,
 * then `runs` timed runs. `feeds` is the source of a function `(ort, args) => feeds` run in the
 * page. Returns { ms (median), times }.
 */
export async function timeOrt(page, { model, feeds, args = null, runs = RUNS }) {
  return page.evaluate(async ({ model, feeds, args, runs, median }) => {
    const ort = await import('./models/ort/ort.wasm.min.mjs');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = new URL('./models/ort/', location.href).href;
    window.ortSessions ??= {};
    window.ortSessions[model] ??= await ort.InferenceSession.create(`./models/${model}`, { executionProviders: ['wasm'] });
    const session = window.ortSessions[model];
    const input = eval(feeds)(ort, args);
    await session.run(input); // warm-up
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run(input);
      times.push(performance.now() - t);
    }
    return { ms: eval(median)(times), times };
  }, { model, feeds, args, runs, median: MEDIAN });
}

/** MiniLM benches: text of exactly n tokens with [CLS]/[SEP], single-token words (content does
 *  not change the cost), and the ONNX export's feeds for token ids (source to eval in the page). */
export const textOf = (n) => Array.from({ length: n - 2 }, (_, i) => ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog'][i % 8]).join(' ');
export const TEXT_FEEDS = `(ort, ids) => {
  const shape = [1, ids.length];
  return {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), shape),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), shape),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(ids.length), shape),
  };
}`;
