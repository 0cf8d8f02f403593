// Everything the views compute with comes from here: the wasm module (initialized once), one
// Playground per backend choice, and each model loaded once per Playground. Every function is a
// memoized promise, so any number of views and <attention-playground> elements on a page share
// one module, one GPU device and one copy of each model. The module runs in a Worker
// (worker-client.js), so the page's main thread only draws.
import { MODELS } from './glue.js';
import { Playground, ready, wasmSimd, threads, engineThread } from './worker-client.js';

export { Playground, wasmSimd, threads, engineThread, MODELS };

const playgrounds = new Map(); // backend choice → Promise<Playground>
const manifests = new Map(); // models URL → Promise<manifest>
const perPlayground = new WeakMap(); // Playground → Map(kind/url → { promise, listeners })

/**
 * The shared Playground for `backend` ('auto' | 'webgpu' | 'cpu'). The first call starts the
 * engine: `wasm` 'simd128' | 'relaxed' forces one of the two builds, `worker: false` keeps it on
 * the main thread.
 */
export function getPlayground({ backend = 'auto', wasm: build, worker = true } = {}) {
  if (!playgrounds.has(backend)) {
    const p = ready({ build, worker }).then(() => Playground.create({ backend }));
    p.catch(() => playgrounds.delete(backend)); // a failed start can be retried
    playgrounds.set(backend, p);
  }
  return playgrounds.get(backend);
}

/** The folder `models` (relative to the page) as an absolute URL ending in '/'. */
export function modelsUrl(models = 'models/') {
  const u = new URL(models, document.baseURI).href;
  return u.endsWith('/') ? u : `${u}/`;
}

/** models/manifest.json, fetched once per folder. */
export function manifest(models) {
  const base = modelsUrl(models);
  if (!manifests.has(base)) {
    const p = fetch(`${base}manifest.json`).then(async (res) => {
      if (!res.ok) throw new Error(`${base}manifest.json: HTTP ${res.status} (run make build)`);
      return res.json();
    });
    p.catch(() => manifests.delete(base));
    manifests.set(base, p);
  }
  return manifests.get(base);
}

function load(pg, kind, models, onProgress) {
  const method = kind === 'text' ? 'loadTextModel' : 'loadVisionModel';
  if (!loadsOf(pg).has(`${kind}/${modelsUrl(models)}`)) {
    const entry = { listeners: new Set(), last: null };
    entry.promise = (async () => {
      if (typeof pg[method] !== 'function') throw new Error(`this build of the playground has no pg.${method}`);
      const m = await manifest(models);
      if (!m[kind]) throw new Error(`models/manifest.json has no "${kind}" entry (run make build)`);
      return pg[method](`${modelsUrl(models)}${m[kind]}`, (p) => {
        entry.last = p;
        entry.listeners.forEach((fn) => fn(p));
      });
    })();
    entry.promise.catch(() => loadsOf(pg).delete(`${kind}/${modelsUrl(models)}`));
    loadsOf(pg).set(`${kind}/${modelsUrl(models)}`, entry);
  }
  const entry = loadsOf(pg).get(`${kind}/${modelsUrl(models)}`);
  if (onProgress) {
    entry.listeners.add(onProgress);
    if (entry.last) onProgress(entry.last);
    entry.promise.finally(() => entry.listeners.delete(onProgress)).catch(() => {});
  }
  return entry.promise;
}
function loadsOf(pg) {
  if (!perPlayground.has(pg)) perPlayground.set(pg, new Map());
  return perPlayground.get(pg);
}

/** Loads all-MiniLM-L6-v2 into `pg` once; `onProgress({ loaded, total })` while it downloads. */
export const getTextModel = (pg, models, onProgress) => load(pg, 'text', models, onProgress);
/** Loads DINOv2 ViT-S/14 into `pg` once. */
export const getVisionModel = (pg, models, onProgress) => load(pg, 'vision', models, onProgress);
