// Times the wasm CPU dense kernels (SIMD128) in node: `./run.sh` builds, then runs this.
// Prints GFLOP/s per model shape and checks the fast path against the naive reference.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initSync, DenseBench, f16_decode } from './pkg/wasm_dense_bench.js';

initSync({ module: readFileSync(fileURLToPath(new URL('./pkg/wasm_dense_bench_bg.wasm', import.meta.url))) });

// Process CPU time in ms: other processes on a shared machine do not inflate it.
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };

function median(f, budgetMs) {
  f();
  const times = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < budgetMs && times.length < 200)) {
    const t = cpuMs();
    f();
    times.push(cpuMs() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const shapes = [
  ['MiniLM n=17 QKV', 17, 384, 1152, false],
  ['MiniLM n=128 QKV', 128, 384, 1152, false],
  ['MiniLM n=128 out-proj', 128, 384, 384, false],
  ['MiniLM n=128 FFN up', 128, 384, 1536, false],
  ['MiniLM n=128 FFN up+GELU', 128, 384, 1536, true],
  ['MiniLM n=128 FFN down', 128, 1536, 384, false],
  ['ViT-S n=197 QKV', 197, 384, 1152, false],
  ['ViT-S n=197 FFN up+GELU', 197, 384, 1536, true],
  ['ViT-S n=197 FFN down', 197, 1536, 384, false],
];
console.log('wasm SIMD128 CPU linear (single thread, node ' + process.version + ')');
console.log('shape'.padEnd(26), 'ms'.padStart(8), 'GFLOP/s'.padStart(9), 'naive GF/s'.padStart(11), 'max|fast-ref|'.padStart(14));
for (const [label, rows, k, n, gelu] of shapes) {
  const b = new DenseBench(rows, k, n, gelu);
  const flop = 2 * rows * k * n;
  const ms = median(() => b.linear(), 1500);
  const naive = median(() => b.reference(), 500);
  console.log(label.padEnd(26), ms.toFixed(3).padStart(8), (flop / ms / 1e6).toFixed(1).padStart(9),
    (flop / naive / 1e6).toFixed(2).padStart(11), b.max_diff().toExponential(1).padStart(14));
  b.free();
}
for (const rows of [128, 197]) {
  const b = new DenseBench(rows, 384, 1, false);
  console.log(`layer_norm [${rows}, 384]: ${(median(() => b.layer_norm(), 300) * 1e3).toFixed(1)} µs`);
  b.free();
}
const n = 22_000_000;
const bytes = new Uint8Array(2 * n);
for (let i = 0; i < n; i++) { bytes[2 * i] = i & 0xff; bytes[2 * i + 1] = (i >> 8) & 0x3b; }
const ms = median(() => f16_decode(bytes), 1500);
console.log(`f16 → f32 of ${n} values (incl. copy into wasm): ${ms.toFixed(1)} ms (${(n / ms / 1e3).toFixed(0)} M values/s)`);
