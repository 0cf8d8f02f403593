// Playground.attention end to end in the page (upload, kernels, readback of weights and output),
// per backend, for seqQ = seqK = 64 … 4096, 1 head, headDim 64, scaled_dot + softmax, no mask.
// Median of repeated runs after one warm-up (repeats until ~1 s or 7 runs).
const SIZES = (process.env.BENCH_SIZES ?? '64,128,256,512,1024,2048,4096').split(',').map(Number);
const HEAD_DIM = 64;
const HEADS = 1;

export default {
  name: 'attention-browser',
  async run({ harness, webgpu, log, record }) {
    const page = await harness();
    const backends = webgpu ? ['webgpu', 'cpu'] : ['cpu'];
    for (const seq of SIZES) {
      const row = { 'seqQ = seqK': seq, heads: HEADS, headDim: HEAD_DIM };
      for (const backend of backends) {
        const r = await page.evaluate(async ({ backend, seq, d, heads }) => {
          const pg = await window.ap.Playground.create({ backend });
          const n = heads * seq * d;
          const rand = (s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
          const opts = { q: rand(1), k: rand(2), v: rand(3), heads, seqQ: seq, seqK: seq, headDim: d };
          try {
            await pg.attention(opts); // warm-up: pipelines, buffers
            const times = [];
            const start = performance.now();
            while (times.length < 7 && (times.length < 2 || performance.now() - start < 1000)) {
              const t0 = performance.now();
              await pg.attention(opts);
              times.push(performance.now() - t0);
            }
            times.sort((a, b) => a - b);
            return { ms: times[times.length >> 1], runs: times.length, backend: pg.backend };
          } catch (e) {
            return { error: String(e?.message ?? e) };
          }
        }, { backend, seq, d: HEAD_DIM, heads: HEADS });
        if (r.error) {
          log(`${backend} seq ${seq}: ${r.error}`);
          row[`${backend} ms`] = 'error';
        } else {
          const gflops = (4 * HEADS * seq * seq * HEAD_DIM) / (r.ms * 1e6);
          row[`${backend} ms`] = Number(r.ms.toFixed(2));
          row[`${backend} GFLOP/s`] = Number(gflops.toFixed(2));
          log(`${backend} seq ${seq}: ${r.ms.toFixed(2)} ms (median of ${r.runs})`);
        }
      }
      record(row);
    }
  },
};
