// pkg/attention_playground.js: written by scripts/build-wasm.sh (head: scripts/wasm-chooser.js,
// then one `export let` per export of the glue). pkg/ holds two wasm-bindgen glues: the threads
// build's (threads/, shared memory: it can only be instantiated where SharedArrayBuffer exists)
// and the single-threaded builds' (attention_playground_st.js); each picks its relaxed-SIMD or
// SIMD128 wasm by feature detection. init() loads one and binds its exports here; use them after init() resolves.
//
// init() with no wasm named: the threads build where the page (or worker) is cross-origin
// isolated, else the single-threaded one. A named wasm picks the glue by its path: threads/…
// the threads build, any other file (or bytes, a Module, a Response) the single-threaded one.
// THREADS_BUILD (appended by the build script) is false where the threads build failed to
// build: then every init() loads the single-threaded one.

function wantsThreads(arg) {
  const m = arg !== null && typeof arg === 'object' && 'module_or_path' in arg ? arg.module_or_path : arg;
  if (m === undefined || m === null) {
    return THREADS_BUILD && globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  }
  const href = typeof m === 'string' ? m : m instanceof URL ? m.href : typeof Request === 'function' && m instanceof Request ? m.url : '';
  const threads = /(^|\/)threads\/[^/?#]*([?#].*)?$/.test(href);
  if (threads && !THREADS_BUILD) throw new Error('attention-playground: this pkg/ has no threads build (it failed to build; see scripts/build-wasm.sh)');
  return threads;
}

let chosen = null;

export default async function init(arg) {
  const threads = wantsThreads(arg);
  if (chosen !== null && chosen.threads !== threads) {
    throw new Error(`attention-playground: init() already loaded the ${chosen.threads ? 'threads' : 'single-threaded'} build; one module per page (or worker)`);
  }
  chosen ??= { threads, glue: threads ? import('./threads/attention_playground.js') : import('./attention_playground_st.js') };
  const glue = await chosen.glue;
  const out = await glue.default(arg);
  bind(glue);
  return out;
}

export function initSync() {
  throw new Error('attention-playground: use `await init()`; it chooses between the threads and single-threaded builds');
}

