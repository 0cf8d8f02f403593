// Converting an image model's Hugging Face folder in the page (pg.loadVisionModelFiles): wall time
// from File objects to a model ready on the CPU backend, and the wasm memory it took (linear memory
// only grows, so its size after the load is the peak), beside loading the built-in web file
// (pg.loadVisionModel) in the same way. A fresh harness page (engine on the main thread, so its
// memory can be read) per run; BENCH_RUNS (default 3) runs, medians.
//
//   make bench-vision-files       (node scripts/bench-browser.mjs tests/browser/bench/vision-files.bench.mjs)
//
// Cases: the built-in DINOv2 ViT-S/14 written as an HF folder (f32, 88 MB; make dinov2-hf-folder).
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CASES = [['DINOv2 ViT-S/14 (HF folder, f32)', `${ROOT}.cache/dinov2-small-hf/`, 'make dinov2-hf-folder']];
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const MB = (b) => +(b / 2 ** 20).toFixed(1);

/** In a fresh page: wasm memory before, load time, wasm memory after, for `how` ('files' | 'url'). */
async function once(harness, how, paths) {
  const page = await harness();
  if (how === 'files') {
    await page.evaluate(() => document.body.append(Object.assign(document.createElement('input'), { type: 'file', multiple: true, id: 'f' })));
    await page.locator('#f').setInputFiles(paths);
  }
  return page.evaluate(async (how) => {
    const memory = (await window.ap.default()).memory; // init() again returns the instance's exports
    const pg = await window.ap.Playground.create({ backend: 'cpu' });
    const manifest = await (await fetch('models/manifest.json')).json();
    if (how === 'url') await fetch(`models/${manifest.vision}`).then((r) => r.arrayBuffer()); // in the HTTP cache: time the load, not the network
    const before = memory.buffer.byteLength;
    const t0 = performance.now();
    const info = how === 'files'
      ? await pg.loadVisionModelFiles([...document.querySelector('#f').files])
      : await pg.loadVisionModel(`models/${manifest.vision}`);
    const ms = performance.now() - t0;
    const bytes = how === 'files' ? [...document.querySelector('#f').files].reduce((s, f) => s + f.size, 0) : 0;
    return { ms, before, after: memory.buffer.byteLength, bytes, layers: info.layers, heads: info.heads, jsHeap: performance.memory?.usedJSHeapSize ?? null };
  }, how).finally(() => page.close());
}

export default {
  name: 'vision-files',
  async run({ harness, log, record }) {
    for (const [name, dir, fix] of CASES) {
      if (!existsSync(dir)) { log(`  ${name}: SKIPPED (${dir} missing: ${fix})`); continue; }
      const paths = readdirSync(dir).map((f) => `${dir}${f}`);
      for (const how of ['files', 'url']) {
        const runs = [];
        for (let i = 0; i < RUNS; i++) runs.push(await once(harness, how, paths));
        const row = {
          model: name, load: how === 'files' ? 'loadVisionModelFiles (convert)' : 'loadVisionModel (built-in web file, cached)',
          'input MB': MB(runs[0].bytes), 'ms (median)': +median(runs.map((r) => r.ms)).toFixed(0), runs: runs.map((r) => r.ms.toFixed(0)).join(' '),
          'wasm MB before': MB(runs[0].before), 'wasm MB after (peak)': MB(median(runs.map((r) => r.after))),
          'JS heap MB after': runs[0].jsHeap === null ? '' : MB(median(runs.map((r) => r.jsHeap))),
        };
        log(`  ${name}, ${row.load}: ${row['ms (median)']} ms (${row.runs}); wasm memory ${row['wasm MB before']} → ${row['wasm MB after (peak)']} MB`);
        record(row);
      }
    }
  },
};
