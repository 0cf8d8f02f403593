// The CPU path on 1 and 2 threads (the threads build, which init() loads in this cross-origin-
// isolated page; `initThreads(2)`, then `initThreads(t)` uses t of them) beside onnxruntime-web
// with `numThreads` 1 and 2, in one run: MiniLM at 17, 128 and 512 tokens (ours returns all 72
// maps and the embedding) and DINOv2 at 224² (every map and the saliency map). One page per
// thread count (onnxruntime-web fixes its thread count at its first session); ours and
// onnxruntime-web alternate, one run each per round after a warm-up, median of BENCH_RUNS rounds.
// Wall time: with threads, the page's main-thread CPU time no longer measures the work.
//
//   node scripts/bench-browser.mjs tests/browser/bench/threads.bench.mjs   (make bench-threads-browser)
//
// Needs the ONNX files: MiniLM's (scripts/make-minilm-onnx.py, run by the make target) and DINOv2's (make models).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ORT_VERSION, ROOT, RUNS, MEDIAN, SAMPLE_RGBA, TEXT_FEEDS, VISION_FEEDS, prepareOrt, textOf } from './ort.mjs';

const TOKENS = [17, 128, 512];

/** In the page: medians over `runs` rounds of ours and onnxruntime-web on `threads` threads. */
async function measure(page, threads, runs, textOrt) {
  return page.evaluate(async ({ threads, runs, tokens, texts, median, sample, textFeeds, visionFeeds, textOrt }) => {
    const ap = window.ap;
    await ap.initThreads(2);
    const used = await ap.initThreads(threads);
    const ort = await import('./models/ort/ort.wasm.min.mjs');
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.wasmPaths = new URL('./models/ort/', location.href).href;
    const manifest = await (await fetch('models/manifest.json')).json();
    const pg = await ap.Playground.create({ backend: 'cpu' });
    await pg.loadTextModel(`models/${manifest.text}`);
    await pg.loadVisionModel(`models/${manifest.vision}`);
    const text = textOrt ? await ort.InferenceSession.create('./models/minilm.onnx', { executionProviders: ['wasm'] }) : null;
    const vision = await ort.InferenceSession.create('./models/vit_s_focus.onnx', { executionProviders: ['wasm'] });
    const time = async (f) => { const t = performance.now(); await f(); return performance.now() - t; };
    const pair = async (ours, theirs) => {
      await ours(); if (theirs) await theirs(); // warm-ups
      const o = [], t = [];
      for (let i = 0; i < runs; i++) { o.push(await time(ours)); if (theirs) t.push(await time(theirs)); }
      return { ours: eval(median)(o), ort: theirs ? eval(median)(t) : NaN };
    };
    const rows = [];
    for (const [i, n] of tokens.entries()) {
      const ids = Array.from((await pg.runText(texts[i])).ids);
      if (ids.length !== n) throw new Error(`${ids.length} tokens, expected ${n}`);
      const feeds = eval(textFeeds)(ort, ids);
      rows.push({ model: `MiniLM ${n} tokens`, ...(await pair(() => pg.runText(texts[i]), text && (() => text.run(feeds)))) });
    }
    const rgba = eval(sample)();
    const feeds = eval(visionFeeds)(ort, rgba);
    rows.push({ model: 'DINOv2 224²', ...(await pair(() => pg.runImage(rgba, 224, 224), () => vision.run(feeds))) });
    return { used, rows };
  }, { threads, runs, tokens: TOKENS, texts: TOKENS.map(textOf), median: MEDIAN, sample: SAMPLE_RGBA, textFeeds: TEXT_FEEDS, visionFeeds: VISION_FEEDS, textOrt });
}

export default {
  name: 'threads-browser',
  async run({ harness, log, record }) {
    // The MiniLM ONNX (make .cache/models/minilm.onnx: scripts/make-minilm-onnx.py); without it, ours alone.
    const textOrt = existsSync(join(ROOT, '.cache/models/minilm.onnx'));
    if (!textOrt) log('no .cache/models/minilm.onnx (make .cache/models/minilm.onnx writes it): MiniLM rows without onnxruntime-web');
    prepareOrt(log, [...(textOrt ? [['.cache/models/minilm.onnx', 'minilm.onnx']] : []), ['.cache/models/vit_s_focus.onnx', 'vit_s_focus.onnx']]);
    const by = {};
    for (const threads of [1, 2]) {
      const page = await harness();
      const { used, rows } = await measure(page, threads, RUNS, textOrt);
      if (used !== threads) throw new Error(`initThreads(${threads}) gave ${used}: is the page cross-origin isolated?`);
      await page.close();
      for (const r of rows) {
        (by[r.model] ??= {})[threads] = r;
        log(`${r.model}, ${threads} thread(s): ours ${r.ours.toFixed(1)} ms, onnxruntime-web ${r.ort.toFixed(1)} ms, ours / ort ${(r.ours / r.ort).toFixed(2)}`);
        record({ model: r.model, threads, 'ours ms': +r.ours.toFixed(1), [`onnxruntime-web ${ORT_VERSION} ms`]: +r.ort.toFixed(1), 'ours / ort': +(r.ours / r.ort).toFixed(2), runs: RUNS });
      }
    }
    for (const [model, t] of Object.entries(by)) {
      log(`${model}: second thread speed-up ours ${(t[1].ours / t[2].ours).toFixed(2)}×, onnxruntime-web ${(t[1].ort / t[2].ort).toFixed(2)}×`);
    }
  },
};
