// Queries and keys as points at 512 tokens: the time to compute the projection (pg.project of the
// 1024 × 32 queries and keys of MiniLM layer 3, head 4, through the engine's worker as the page
// calls it: PCA with the covariance on that backend) and, separately, the time to draw it
// (qk-plot.js on the main thread: 1024 marks, unfocused and with a focused token's lines, and a
// new result's first draw, which also fills the token picker).
// Median of BENCH_RUNS (5) after a warm-up. The points come from one CPU forward, so the WebGPU
// row times the projection alone (a 512-token forward on SwiftShader takes minutes).
//
//   node scripts/bench-browser.mjs tests/browser/bench/qk.bench.mjs
import { MEDIAN, RUNS, textOf } from './ort.mjs';

export default {
  name: 'qk',
  async run({ harness, webgpu, log, record }) {
    const page = await harness('?worker=1');
    await page.waitForFunction(() => window.apReady || window.apError);
    const backends = webgpu ? ['cpu', 'webgpu'] : ['cpu'];
    const got = await page.evaluate(async ({ text, runs, backends, median }) => {
      median = eval(median);
      const manifest = await (await fetch('models/manifest.json')).json();
      const cpu = await window.ap.Playground.create({ backend: 'cpu' });
      await cpu.loadTextModel(`models/${manifest.text}`);
      const r = await cpu.runText(text, undefined, { capture: { layer: 2, head: 3 } });
      const n = r.tokens.length, d = r.capture.q.length / n;
      const points = new Float32Array(2 * n * d);
      points.set(r.capture.q);
      points.set(r.capture.k, n * d);
      const rows = [];
      for (const backend of backends) {
        const pg = backend === 'cpu' ? cpu : await window.ap.Playground.create({ backend });
        let p = await pg.project(points, 2 * n, d); // warm-up
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          p = await pg.project(points, 2 * n, d);
          times.push(performance.now() - t0);
        }
        rows.push({ what: 'compute: pg.project (worker round trip)', backend: p.backend, tokens: n, points: 2 * n, dim: d, ms: median(times) });
        window.lastProjection = p;
      }
      const { qkPlot } = await import('./js/views/qk-plot.js');
      const root = document.body.appendChild(document.createElement('div'));
      const plot = qkPlot(root, { id: 'bench' });
      const base = (2 * r.heads + 3) * n * n;
      const data = (focus) => ({ coords: window.lastProjection.coords, tokens: r.tokens, group: null, groups: ['x'], keyStart: () => 0,
        row: (t) => r.attention.subarray(base + t * n, base + (t + 1) * n), explained: window.lastProjection.explained, focus });
      for (const focus of [-1, 100]) {
        plot.draw(data(focus));
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          plot.draw(data(focus));
          times.push(performance.now() - t0);
        }
        rows.push({ what: `draw: qkPlot.draw, ${focus < 0 ? 'no focus' : 'a focused token'}`, backend: 'main thread', tokens: n, points: 2 * n, dim: d, ms: median(times), paintMs: plot.drawMs });
      }
      // A new result's first draw also fills the token picker (513 options).
      const times = [];
      for (let i = 0; i < runs; i++) {
        const fresh = qkPlot(document.body.appendChild(document.createElement('div')), { id: `bench${i}` });
        const t0 = performance.now();
        fresh.draw(data(-1));
        times.push(performance.now() - t0);
      }
      rows.push({ what: 'draw: first draw of new tokens (picker filled)', backend: 'main thread', tokens: n, points: 2 * n, dim: d, ms: median(times) });
      return rows;
    }, { text: textOf(512), runs: RUNS, backends, median: MEDIAN });
    for (const row of got) {
      log(`${row.what} on ${row.backend}: ${row.ms.toFixed(2)} ms (${row.tokens} tokens, ${row.points} × ${row.dim})`);
      record(row);
    }
  },
};
