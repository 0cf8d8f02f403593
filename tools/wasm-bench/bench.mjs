// The wasm dense bench itself, shared by node (run.mjs) and Chromium (chromium.mjs + index.html):
// GFLOP/s of the SIMD128 CPU `linear` for the model shapes, checked against the naive reference,
// LayerNorm, and f16 → f32 weight decoding. `now()` is the clock in ms (CPU time in node, wall
// time in the browser); each figure is the median of repeated runs after one warm-up, with the
// best run beside it (on a busy shared machine wall-clock medians include preemption).

function median(now, f, budgetMs) {
  f();
  const times = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < budgetMs && times.length < 200)) {
    const t = now();
    f();
    times.push(now() - t);
  }
  times.sort((a, b) => a - b);
  return { med: times[times.length >> 1], min: times[0] };
}

const SHAPES = [
  ['MiniLM n=17 QKV', 17, 384, 1152, false],
  ['MiniLM n=128 QKV', 128, 384, 1152, false],
  ['MiniLM n=128 out-proj', 128, 384, 384, false],
  ['MiniLM n=128 FFN up', 128, 384, 1536, false],
  ['MiniLM n=128 FFN up+GELU', 128, 384, 1536, true],
  ['MiniLM n=128 FFN down', 128, 1536, 384, false],
  ['ViT-S n=197 QKV', 197, 384, 1152, false],
  ['ViT-S n=197 FFN up+GELU', 197, 384, 1536, true],
  ['ViT-S n=197 FFN down', 197, 1536, 384, false],
  ['MiniLM n=512 QKV', 512, 384, 1152, false],
  ['MiniLM n=512 out-proj', 512, 384, 384, false],
  ['MiniLM n=512 FFN up+GELU', 512, 384, 1536, true],
  ['MiniLM n=512 FFN down', 512, 1536, 384, false],
];

export function runBench({ DenseBench, AttentionBench, ProductBench, f16_decode }, { now, log, only }) {
  // only: 'dense' | 'products' | 'attention' | 'other' to run one part (node: ONLY=…).
  const part = (name) => !only || only === name;
  log('shape'.padEnd(26) + 'ms'.padStart(8) + 'GFLOP/s'.padStart(9) + 'best GF/s'.padStart(11)
    + 'packed GF/s'.padStart(13) + 'naive GF/s'.padStart(12) + 'max|fast-ref|'.padStart(15));
  const rows = [];
  for (const [label, rows_, k, n, gelu] of part('dense') ? SHAPES : []) {
    const b = new DenseBench(rows_, k, n, gelu);
    const flop = 2 * rows_ * k * n;
    const t = median(now, () => b.linear(), 1500);
    const packed = median(now, () => b.linear_packed(), 1500);
    const naive = median(now, () => b.reference(), 500);
    const diff = b.max_diff();
    b.free();
    const gf = (ms) => flop / ms / 1e6;
    rows.push({ shape: label, ms: t.med, gflops: gf(t.med), bestGflops: gf(t.min), packedGflops: gf(packed.med), naiveGflops: gf(naive.med), maxDiff: diff });
    log(label.padEnd(26) + t.med.toFixed(3).padStart(8) + gf(t.med).toFixed(1).padStart(9) + gf(t.min).toFixed(1).padStart(11)
      + gf(packed.med).toFixed(1).padStart(13) + gf(naive.med).toFixed(2).padStart(12) + diff.toExponential(1).padStart(15));
  }
  for (const [label, r, k, n] of part('products') ? [['q·kᵀ 64×32·32×512', 64, 32, 512], ['w·v 64×512·512×32', 64, 512, 32], ['q·kᵀ 512×32·32×512', 512, 32, 512]] : []) {
    const b = new ProductBench(r, k, n);
    const t = median(now, () => b.run(), 1000);
    log(`${label}: ${(t.med * 1e3).toFixed(1)} µs (${(2 * r * k * n / t.med / 1e6).toFixed(1)} GFLOP/s, best ${(2 * r * k * n / t.min / 1e6).toFixed(1)})`);
    b.free();
  }
  for (const seq of part('attention') ? [128, 512] : []) {
    const b = new AttentionBench(12, seq, 32);
    const flop = 2 * 2 * 12 * seq * seq * 32;
    const t = median(now, () => b.run(), 1500);
    log(`attention 12 heads × ${seq}² × 32, weights returned: ${t.med.toFixed(2)} ms (${(flop / t.med / 1e6).toFixed(1)} GFLOP/s in its two products)`);
    b.free();
  }
  if (!part('other')) return rows;
  for (const r of [128, 197]) {
    const b = new DenseBench(r, 384, 1, false);
    log(`layer_norm [${r}, 384]: ${(median(now, () => b.layer_norm(), 300).med * 1e3).toFixed(1)} µs`);
    b.free();
  }
  const n = 22_000_000; // ≈ the parameter count of either model
  const bytes = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) { bytes[2 * i] = i & 0xff; bytes[2 * i + 1] = (i >> 8) & 0x3b; }
  const ms = median(now, () => f16_decode(bytes), 1500).med;
  log(`f16 → f32 of ${n} values (incl. copy into wasm): ${ms.toFixed(1)} ms (${(n / ms / 1e3).toFixed(0)} M values/s)`);
  return rows;
}
