// DINOv2 forward at 224² on the CPU path, ours vs onnxruntime-web 1.30 (wasm, 1 thread), in node
// (V8, the engine Chromium runs wasm with) measured in process CPU time, not wall time: on a
// shared, loaded machine wall-clock medians swing by 2–4×, CPU time by a few per cent. The same
// pkg/ .wasm and the same ONNX as the Chromium bench (vision.bench.mjs); runs alternate.
//
//   node tests/browser/bench/vision-cputime.mjs        (BENCH_RUNS=7; make bench-vision-cputime)
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from '../../../scripts/serve.mjs';
import { SAMPLE_RGBA, VISION_FEEDS } from './ort.mjs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ONNX = `${ROOT}.cache/models/vit_s_focus.onnx`;
const ORT_DIST = `${ROOT}node_modules/onnxruntime-web/dist/`;
for (const [f, fix] of [[ONNX, 'make models'], [ORT_DIST, 'npm ci'], [`${ROOT}www/pkg/attention_playground_bg.wasm`, 'make wasm']]) {
  if (!existsSync(f)) throw new Error(`${f} is missing: run ${fix}`);
}

const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const time = async (f) => { const c = cpuMs(), w = performance.now(); await f(); return [cpuMs() - c, performance.now() - w]; };

const pkg = await import(pathToFileURL(`${ROOT}www/pkg/attention_playground.js`).href);
await pkg.default({ module_or_path: readFileSync(`${ROOT}www/pkg/attention_playground_bg.wasm`) });
const { server, url } = await startServer({ port: 0, quiet: true, root: `${ROOT}www` });
const manifest = JSON.parse(readFileSync(`${ROOT}www/models/manifest.json`, 'utf8'));
const pg = await pkg.Playground.create({ backend: 'cpu' });
await pg.loadVisionModel(new URL(`models/${manifest.vision}`, url).href);
server.close();

const ort = await import(pathToFileURL(`${ORT_DIST}ort.wasm.min.mjs`).href);
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = ORT_DIST;
const session = await ort.InferenceSession.create(readFileSync(ONNX), { executionProviders: ['wasm'] });

// The same pixels for both; ORT gets them preprocessed the way runImage does.
const rgba = eval(SAMPLE_RGBA)();
const feeds = eval(VISION_FEEDS)(ort, rgba);

await pg.runImage(rgba, 224, 224); // warm-ups
await session.run(feeds);
const ours = [], theirs = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(await time(() => pg.runImage(rgba, 224, 224)));
  theirs.push(await time(() => session.run(feeds)));
}
const line = (name, ts) => console.log(`  ${name}: CPU ${median(ts.map((t) => t[0])).toFixed(0)} ms median (${ts.map((t) => t[0].toFixed(0)).join(', ')}); wall ${median(ts.map((t) => t[1])).toFixed(0)} ms`);
console.log(`DINOv2 ViT-S/14 forward at 224², node ${process.version}, ${RUNS} runs each, alternating:`);
line('ours (cpu, wasm simd128, 72 maps + saliency)', ours);
line('onnxruntime-web 1.30.0 (wasm, 1 thread, saliency)', theirs);
console.log(`  ratio ours/onnxruntime-web (CPU time): ${(median(ours.map((t) => t[0])) / median(theirs.map((t) => t[0]))).toFixed(2)} (target ≤ 0.8)`);
