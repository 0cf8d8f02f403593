// DINOv2 ViT-S/14 forward latency at 224² in the page: ours (pg.runImage: preprocessing, all 12
// layers, every attention map returned, the saliency decoder) per backend, beside onnxruntime-web
// 1.30 (wasm backend, 1 thread) running the same ONNX (which returns only the saliency map).
// Median of 5 runs after one warm-up.
//
//   node scripts/bench-browser.mjs tests/browser/bench/vision.bench.mjs     (or: make bench-vision)
//
// onnxruntime-web is installed on first use (npm install --no-save) and its files, with the ONNX,
// are copied under www/models/ (ignored by git), so the page loads them from the same server.
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ORT_VERSION = '1.30.0';
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function prepareOrt(log) {
  const dist = join(ROOT, 'node_modules/onnxruntime-web/dist');
  if (!existsSync(dist)) {
    log(`installing onnxruntime-web@${ORT_VERSION} (npm install --no-save)`);
    execSync(`npm install --no-save --no-audit --no-fund onnxruntime-web@${ORT_VERSION}`, { cwd: ROOT, stdio: 'inherit' });
  }
  const out = join(ROOT, 'www/models/ort');
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(dist)) {
    if (/^ort\.wasm\.min\.mjs$|^ort-wasm-simd-threaded\.(wasm|mjs)$/.test(f)) copyFileSync(join(dist, f), join(out, f));
  }
  const onnx = join(ROOT, '.cache/models/vit_s_focus.onnx');
  if (!existsSync(onnx)) throw new Error(`${onnx} is missing: run make models`);
  copyFileSync(onnx, join(ROOT, 'www/models/vit_s_focus.onnx'));
}

export default {
  name: 'vision-browser',
  async run({ harness, webgpu, log, record }) {
    prepareOrt(log);
    const page = await harness();
    const median = `(times) => times.sort((a, b) => a - b)[times.length >> 1]`;
    // An astronaut-sized photo stand-in: a smooth 224×224 RGBA pattern (content does not change the cost).
    const image = `Uint8Array.from({ length: 224 * 224 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (Math.sin(i * 0.01) * 127 + 128) | 0))`;
    for (const backend of webgpu ? ['webgpu', 'cpu'] : ['cpu']) {
      const r = await page.evaluate(async ({ backend, runs, median, image }) => {
        const med = eval(median);
        const pg = await window.ap.Playground.create({ backend });
        const manifest = await (await fetch('models/manifest.json')).json();
        const t0 = performance.now();
        await pg.loadVisionModel(`models/${manifest.vision}`);
        const load = performance.now() - t0;
        const rgba = eval(image);
        await pg.runImage(rgba, 224, 224); // warm-up
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await pg.runImage(rgba, 224, 224);
          times.push(performance.now() - t);
        }
        return { backend: pg.backend, ms: med(times), load, times };
      }, { backend, runs: RUNS, median, image });
      log(`ours ${r.backend}: ${r.ms.toFixed(0)} ms median (${r.times.map((t) => t.toFixed(0)).join(', ')}); load ${r.load.toFixed(0)} ms`);
      record({ engine: `attention-playground (${r.backend})`, 'forward ms (median)': Math.round(r.ms), runs: RUNS, returns: '72 maps + saliency' });
    }
    const o = await page.evaluate(async ({ runs, median }) => {
      const med = eval(median);
      const ort = await import('./models/ort/ort.wasm.min.mjs');
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = new URL('./models/ort/', location.href).href;
      const session = await ort.InferenceSession.create('./models/vit_s_focus.onnx', { executionProviders: ['wasm'] });
      const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];
      const x = new Float32Array(3 * 224 * 224);
      for (let c = 0; c < 3; c++) for (let i = 0; i < 224 * 224; i++) x[c * 224 * 224 + i] = ((Math.sin((i * 4 + c) * 0.01) * 127 + 128 | 0) / 255 - MEAN[c]) / STD[c];
      const feeds = { input_image: new ort.Tensor('float32', x, [1, 3, 224, 224]) };
      await session.run(feeds); // warm-up
      const times = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await session.run(feeds);
        times.push(performance.now() - t);
      }
      return { ms: med(times), times };
    }, { runs: RUNS, median });
    log(`onnxruntime-web ${ORT_VERSION} wasm 1 thread: ${o.ms.toFixed(0)} ms median (${o.times.map((t) => t.toFixed(0)).join(', ')})`);
    record({ engine: `onnxruntime-web ${ORT_VERSION} (wasm, 1 thread)`, 'forward ms (median)': Math.round(o.ms), runs: RUNS, returns: 'saliency only' });
  },
};
