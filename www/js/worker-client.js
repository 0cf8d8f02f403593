// `Playground` with the wasm module in a dedicated Worker: the same names and promises as the
// glue's Playground (README "API"), every method forwarded as a message to engine-host.js, every
// result's typed arrays transferred back. One worker per page, shared by every Playground made
// here. Where no worker can start (no Worker, a blocked script) the engine runs on the main thread
// behind a MessageChannel, and `engineThread()` says why.
import { PKG } from './glue.js';

const WORKER = new URL('./engine-worker.js', import.meta.url);
let engine = null; // Promise<{ request, simd }>
let where = { thread: 'none', notice: null };
let simd = null; // the engine's wasmSimd(), once it has started
let nthreads = 1; // the engine's CPU thread count, once it has started

function startWorker() {
  // `new Worker` wants a script of the page's origin: from another origin (the element imported
  // cross-origin) a same-origin blob: module imports the real one by its absolute URL.
  const url = WORKER.origin === location.origin ? WORKER
    : URL.createObjectURL(new Blob([`import ${JSON.stringify(WORKER.href)};`], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module', name: 'attention-playground engine' });
  return new Promise((resolve, reject) => {
    worker.addEventListener('error', (e) => reject(new Error(e.message || 'the engine worker did not start')), { once: true });
    worker.addEventListener('message', () => resolve(worker), { once: true });
    worker.postMessage({ id: 0, op: 'ping' }); // any reply (an "unknown request" error) means it runs
  });
}

async function mainThreadPort() {
  const { serve } = await import('./engine-host.js');
  const { port1, port2 } = new MessageChannel();
  serve(port2);
  return port1;
}

function connect(port) {
  const pending = new Map(); // id → { resolve, reject, onProgress }
  const playgrounds = new Map(); // key → proxy
  let next = 1;
  port.onmessage = ({ data }) => {
    if (data.change) return playgrounds.get(data.pg)?._change(data.change, data.state);
    const call = pending.get(data.id);
    if (!call) return;
    if ('progress' in data) return call.onProgress?.(data.progress);
    pending.delete(data.id);
    if ('error' in data) call.reject(Object.assign(new Error(data.error), data.name && data.name !== 'Error' ? { name: data.name } : {}));
    else call.resolve(data);
  };
  // A worker that dies (an uncaught error there) settles every pending promise.
  port.onerror = (e) => {
    const err = new Error(`the engine worker failed: ${e?.message ?? e}`);
    pending.forEach((c) => c.reject(err));
    pending.clear();
  };
  return {
    playgrounds,
    request(msg, onProgress) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, onProgress });
        try {
          port.postMessage({ ...msg, id });
        } catch (e) {
          pending.delete(id);
          reject(new Error(`${msg.method ?? msg.op}: an argument cannot be sent to the engine (${e?.message ?? e})`));
        }
      });
    },
  };
}

/**
 * Starts the engine once (a worker unless `worker: false` or none can start) and initializes the
 * wasm module (and its thread pool) there; `build` 'simd128' | 'relaxed' | 'threads' | 'threads-relaxed' forces one build.
 */
export function ready({ build, worker = true } = {}) {
  engine ??= (async () => {
    let port;
    if (worker && typeof Worker === 'function') {
      try {
        port = await startWorker();
        where = { thread: 'worker', notice: null };
      } catch (e) {
        where = { thread: 'main', notice: `no engine worker (${e?.message ?? e}): running on the main thread` };
      }
    } else {
      where = { thread: 'main', notice: worker ? 'this browser has no Worker: running on the main thread' : null };
    }
    if (where.notice) console.warn(`attention-playground: ${where.notice}`);
    const link = connect(port ?? (await mainThreadPort()));
    const file = { simd128: 'attention_playground_bg.wasm', relaxed: 'attention_playground_relaxed_bg.wasm', threads: 'threads/attention_playground_bg.wasm', 'threads-relaxed': 'threads/attention_playground_relaxed_bg.wasm' }[build];
    const { value } = await link.request({ op: 'init', args: [file ? new URL(file, PKG).href : undefined] });
    simd = value.wasmSimd;
    nthreads = value.threads;
    return link;
  })();
  engine.catch(() => (engine = null));
  return engine;
}

/** Where the engine runs: { thread: 'worker' | 'main' | 'none' (not started), notice }. */
export const engineThread = () => ({ ...where });

/** How many threads the engine's CPU path uses (1 unless the threads build started its pool). */
export const threads = () => nthreads;

/** `initThreads(n)` in the engine: how many of its pool's threads the CPU path uses from now on
 *  (clamped to the pool; 1 in the single-threaded builds); resolves to the count. */
export async function initThreads(n) {
  const link = await ready();
  nthreads = (await link.request({ op: 'threads', args: [n] })).value;
  return nthreads;
}

/** Which wasm build the engine runs ('relaxed' | 'simd128'); known once `ready()` has resolved. */
export function wasmSimd() {
  if (!simd) throw new Error('wasmSimd: the engine has not started yet (await Playground.create first)');
  return simd;
}

// A typed array that views part of a bigger buffer would clone the whole buffer: send its part.
const own = (v) => (ArrayBuffer.isView(v) && v.byteLength !== v.buffer.byteLength ? v.slice() : v);
const ownAll = (v) => (v && typeof v === 'object' && !ArrayBuffer.isView(v) && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, own(x)])) : own(v));

const describe = (v) => (typeof v === 'string' ? `'${v}'` : typeof v === 'number' ? String(v) : v === null ? 'null'
  : typeof v === 'function' ? 'a function' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v);

// The worker resolves relative URLs against its own script: resolve them against the page first,
// as the glue's fetch would.
function pageUrl(url) {
  if (typeof url !== 'string' || url === '' || typeof document === 'undefined') return url;
  try {
    return new URL(url, document.baseURI).href;
  } catch {
    return url; // the engine says what is wrong with it
  }
}

export class Playground {
  #link; #key; #state; #onchange = null;

  constructor(link, key, state) {
    this.#link = link;
    this.#key = key;
    this.#state = state;
    link.playgrounds.set(key, this);
  }

  /** `await Playground.create({ backend })`, as the glue's, with the engine in the worker. */
  static async create(opts) {
    const link = await ready();
    const { value, state } = await link.request({ op: 'create', args: [opts] });
    return new Playground(link, value, state);
  }

  /** `Playground.sinusoidal(seq, dim)`: the same table as the glue's, computed here (it is static
   *  and synchronous, so it cannot wait for the worker). */
  static sinusoidal(seq, dim) {
    // The glue's messages (src/api/parse.rs `count`, src/attention/sinusoidal.rs).
    for (const [name, v] of [['seq', seq], ['dim', dim]]) {
      if (Number.isInteger(v) && v > 2 ** 31 - 1) throw new Error(`invalid input: ${name} must be at most 2147483647, got ${v}`);
      if (!Number.isInteger(v) || v < 1) throw new Error(`invalid input: ${name} must be a whole number ≥ 1, got ${describe(v)}`);
    }
    if (seq * dim > 2 ** 28) throw new Error(`invalid input: sinusoidal: seq × dim = ${seq} × ${dim} is too large`);
    const t = new Float32Array(seq * dim);
    for (let pos = 0; pos < seq; pos++) {
      for (let c = 0; c < dim; c++) {
        const angle = pos / 10000 ** ((2 * Math.floor(c / 2)) / dim);
        t[pos * dim + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      }
    }
    return t;
  }

  get backend() { return this.#state.backend; }
  get fallbackReason() { return this.#state.fallbackReason ?? undefined; }
  get onbackendchange() { return this.#onchange; }
  set onbackendchange(f) { this.#onchange = f ?? null; }

  /** (from the link) a backend change in the engine */
  _change(change, state) {
    this.#state = state;
    try {
      this.#onchange?.(change);
    } catch (e) {
      console.error('backendchange listener threw', e);
    }
  }

  async #call(method, args) {
    const at = args.findIndex((a) => typeof a === 'function');
    const onProgress = at >= 0 ? args[at] : undefined;
    const sent = args.map((a, i) => (i === at ? undefined : ownAll(a)));
    const { value, state } = await this.#link.request({ op: 'call', pg: this.#key, method, args: sent, progress: at >= 0 ? at : undefined }, onProgress);
    if (state) this.#state = state;
    return value;
  }

  attention(opts) { return this.#call('attention', [opts]); }
  multiHead(opts) { return this.#call('multiHead', [opts]); }
  rollout(maps, layers, heads, seq, opts) { return this.#call('rollout', [maps, layers, heads, seq, opts]); }
  loadTextModel(url, onProgress) { return this.#call('loadTextModel', [pageUrl(url), onProgress]); }
  runText(text, pair, options) { return this.#call('runText', [text, pair, options]); }
  project(points, rows, dim, options) { return this.#call('project', [points, rows, dim, options]); }
  // File objects cross to the worker by structured clone (their bytes are read there).
  loadTextModelFiles(files, onProgress) { return this.#call('loadTextModelFiles', [files, onProgress]); }
  loadVisionModel(url, onProgress) { return this.#call('loadVisionModel', [pageUrl(url), onProgress]); }
  loadVisionModelFiles(files, onProgress) { return this.#call('loadVisionModelFiles', [files, onProgress]); }
  runImage(rgba, width, height, options) { return this.#call('runImage', [rgba, width, height, options]); }
  simulateDeviceLoss() { return this.#call('simulateDeviceLoss', []); }
  /** Frees the engine's Playground (and its GPU device). */
  free() {
    this.#link.playgrounds.delete(this.#key);
    this.#link.request({ op: 'free', pg: this.#key }).catch(() => {});
  }
}
