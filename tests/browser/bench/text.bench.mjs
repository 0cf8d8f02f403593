// all-MiniLM-L6-v2 forward latency in the page for n = 17, 128, 512 tokens: ours (pg.runText:
// tokenize, all 6 layers, every one of the 72 attention maps and the embedding returned) per
// backend, beside onnxruntime-web 1.30 (wasm backend, 1 thread) on an ONNX export of the same
// weights (scripts/export-minilm-onnx.py; it returns only the last hidden state). Same token ids
// for both. Median of BENCH_RUNS (5) rounds; each round times one run of ours and one of
// onnxruntime-web, each after a warm-up run, in wall time and in the page's main-thread CPU time.
//
//   node scripts/bench-browser.mjs tests/browser/bench/text.bench.mjs     (or: make bench-text-browser)
//
// SwiftShader (WebGPU here) is a CPU emulation of a GPU and needs minutes per 512-token forward,
// so the WebGPU rows cover BENCH_GPU_SIZES (default 17,128) with BENCH_GPU_RUNS (default 2) runs.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { MEDIAN, ORT_LABEL, ROOT, RUNS, TEXT_FEEDS as FEEDS, mainThreadMs, median, prepareOrt, textOf, timeOrt } from './ort.mjs';

const SIZES = [17, 128, 512];
const GPU_SIZES = (process.env.BENCH_GPU_SIZES ?? '17,128').split(',').map(Number);
const GPU_RUNS = Number(process.env.BENCH_GPU_RUNS ?? 2);
const ONNX = '.cache/models/minilm.onnx';

/** Exports the ONNX once (PYREF_VENV's python if set, else python3 with torch + transformers). */
function exportOnnx(log) {
  if (existsSync(join(ROOT, ONNX))) return;
  const python = process.env.PYREF_VENV ? join(process.env.PYREF_VENV, 'bin/python') : 'python3';
  log(`exporting ${ONNX} with ${python} scripts/export-minilm-onnx.py`);
  execFileSync(python, ['scripts/export-minilm-onnx.py', ONNX], { cwd: ROOT, stdio: 'inherit' });
}


/** Median wall time of `pg.runText` (and of its own `ms`, the forward alone) on `backend`. */
async function timeOurs(page, backend, n, runs) {
  const r = await page.evaluate(async ({ backend, text, runs, median }) => {
    window.pgs ??= {};
    if (!window.pgs[backend]) {
      const manifest = await (await fetch('models/manifest.json')).json();
      const pg = await window.ap.Playground.create({ backend });
      await pg.loadTextModel(`models/${manifest.text}`);
      window.pgs[backend] = pg;
    }
    const pg = window.pgs[backend];
    const first = await pg.runText(text); // warm-up
    const times = [], forward = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = await pg.runText(text);
      times.push(performance.now() - t);
      forward.push(r.ms);
    }
    return { backend: pg.backend, tokens: first.tokens.length, maps: first.attention.length, ids: Array.from(first.ids), ms: eval(median)(times), forward: eval(median)(forward), times };
  }, { backend, text: textOf(n), runs, median: MEDIAN });
  if (r.tokens !== n || r.maps !== 72 * n * n) throw new Error(`n=${n}: got ${r.tokens} tokens, ${r.maps} map values`);
  return r;
}


export default {
  name: 'text-browser',
  async run({ harness, webgpu, log, record }) {
    exportOnnx(log);
    prepareOrt(log, [[ONNX, 'minilm.onnx']]);
    const page = await harness();
    const simd = await page.evaluate(() => window.ap.wasmSimd());
    const times = (r) => r.times.map((t) => t.toFixed(0)).join(', ');
    // CPU path and onnxruntime-web alternate, one run each per round (after a warm-up each), so
    // both see the same machine load even when it drifts. Beside wall time, the main thread's CPU
    // time of each round (warm-up + run, halved): on a shared machine, wall time also counts the
    // time other processes held the CPU.
    const cpuOf = async (f) => {
      const c = await mainThreadMs(page);
      const r = await f();
      return { ...r, cpu: ((await mainThreadMs(page)) - c) / 2 };
    };
    for (const n of SIZES) {
      const r = { times: [], forward: [], cpus: [] }, o = { times: [], cpus: [] };
      for (let round = 0; round < RUNS; round++) {
        const ours = await cpuOf(() => timeOurs(page, 'cpu', n, 1));
        r.times.push(ours.ms);
        r.forward.push(ours.forward);
        r.cpus.push(ours.cpu);
        r.ids ??= ours.ids;
        const theirs = await cpuOf(() => timeOrt(page, { model: 'minilm.onnx', args: r.ids, feeds: FEEDS, runs: 1 }));
        o.times.push(theirs.ms);
        o.cpus.push(theirs.cpu);
      }
      [r.ms, r.forward, r.cpu, o.ms, o.cpu] = [median(r.times), median(r.forward), median(r.cpus), median(o.times), median(o.cpus)];
      const [ratio, cpuRatio] = [r.ms / o.ms, r.cpu / o.cpu];
      log(`ours cpu (wasm ${simd}) n=${n}: ${r.ms.toFixed(1)} ms median (${times(r)}); forward alone ${r.forward.toFixed(1)} ms; main-thread CPU ${r.cpu.toFixed(1)} ms`);
      log(`${ORT_LABEL} n=${n}: ${o.ms.toFixed(1)} ms median (${times(o)}); main-thread CPU ${o.cpu.toFixed(1)} ms`);
      log(`   ours / ort = ${ratio.toFixed(2)} (wall), ${cpuRatio.toFixed(2)} (main-thread CPU)`);
      record({ engine: `attention-playground (cpu, wasm ${simd})`, tokens: n, 'ms (median)': +r.ms.toFixed(1), 'CPU ms': +r.cpu.toFixed(1), runs: RUNS, returns: '72 maps + embedding' });
      record({ engine: ORT_LABEL, tokens: n, 'ms (median)': +o.ms.toFixed(1), 'CPU ms': +o.cpu.toFixed(1), runs: RUNS, returns: 'last hidden state only', 'ours / ort': +ratio.toFixed(2), 'ours / ort, CPU': +cpuRatio.toFixed(2) });
    }
    if (!webgpu) return;
    for (const n of GPU_SIZES) {
      const r = await timeOurs(page, 'webgpu', n, GPU_RUNS);
      log(`ours ${r.backend} n=${n}: ${r.ms.toFixed(1)} ms median (${times(r)}); forward alone ${r.forward.toFixed(1)} ms`);
      record({ engine: `attention-playground (${r.backend}, SwiftShader)`, tokens: n, 'ms (median)': +r.ms.toFixed(1), runs: GPU_RUNS, returns: '72 maps + embedding' });
    }
  },
};
