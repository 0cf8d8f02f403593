// The engine's side of the worker protocol: owns the wasm module and every Playground, answers
// the proxy's requests (worker-client.js) over a port. Runs in engine-worker.js, or on the main
// thread behind a MessageChannel where no worker can start: one code path either way.
//
// Requests: { id, op: 'init' | 'threads' | 'create' | 'call' | 'free', ... }. Replies: { id, value, state }
// or { id, error, name }; { id, progress } while a load downloads; { pg, change, state } for a
// backend change. Result buffers are transferred, never copied.
import init, { Playground, wasmSimd, threads, initThreads } from './glue.js';
import { startThreads } from './threads.js';

const stateOf = (pg) => ({ backend: pg.backend, fallbackReason: pg.fallbackReason ?? null });

/** Every ArrayBuffer under `value` (typed arrays in plain objects and arrays), once each. */
function buffersOf(value, out = new Set()) {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
  } else if (value instanceof ArrayBuffer) out.add(value);
  else if (Array.isArray(value)) value.forEach((v) => buffersOf(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => buffersOf(v, out));
  return out;
}

export function serve(port) {
  const pgs = new Map();
  let next = 1, module = null;
  const post = (msg, value) => {
    try {
      port.postMessage(msg, [...buffersOf(value)]);
    } catch {
      port.postMessage(msg); // a buffer that cannot move (a view of wasm memory): copy it
    }
  };
  async function handle({ id, op, pg, method, args = [], progress }) {
    switch (op) {
      // The one place the engine initializes the wasm module and, in the threads build (what
      // init() loads where this thread is cross-origin isolated), its thread pool.
      case 'init':
        module ??= init(args[0] ? { module_or_path: args[0] } : undefined).then(async (out) => {
          await startThreads();
          return out;
        });
        await module;
        return { wasmSimd: wasmSimd(), threads: threads() };
      // How many of the pool's threads the CPU path uses from now on (initThreads(n) here).
      case 'threads':
        await module;
        return initThreads(args[0]);
      case 'create': {
        const p = await Playground.create(args[0]);
        const key = next++;
        pgs.set(key, p);
        p.onbackendchange = (e) => port.postMessage({ pg: key, change: { backend: e.backend, reason: e.reason }, state: stateOf(p) });
        return key;
      }
      case 'free':
        pgs.get(pg)?.free();
        pgs.delete(pg);
        return undefined;
      case 'call': {
        const p = pgs.get(pg);
        if (!p) throw new Error('this Playground was freed');
        if (typeof p[method] !== 'function') throw new Error(`this build of the playground has no pg.${method}`);
        if (progress !== undefined) args[progress] = (x) => port.postMessage({ id, progress: x });
        return p[method](...args);
      }
      default:
        throw new Error(`engine: unknown request ${op}`);
    }
  }
  port.onmessage = async ({ data }) => {
    try {
      const value = await handle(data);
      const p = pgs.get(data.op === 'create' ? value : data.pg);
      post({ id: data.id, value, state: p ? stateOf(p) : undefined }, value);
    } catch (e) {
      port.postMessage({ id: data.id, error: String(e?.message ?? e), name: e?.name ?? 'Error' });
    }
  };
}
