// Boot: the shared engine (wasm + Playground on the chosen backend), the status line, and the
// tabbed views of views.js. `?backend=cpu` (or `webgpu`) forces a backend; default 'auto'.
// `?wasm=simd128` (or `relaxed`) forces one of the two wasm builds; `?worker=0` runs the engine on
// the main thread (it runs in a Worker otherwise). The URL holds the open tab's
// whole state (state.js) as it changes; `?embed=<view>` shows one view alone (for iframes),
// `hide=` hides controls or panels, `demo=` one Mechanisms demo.
//
// Adding a view: one module in js/views/ exporting `mount(section, app)`, and one entry in
// views.js. `app` = { pg, status(ms), onBackendChange(fn), initial, changed() }; views draw from
// the typed arrays pg returns.
import { getPlayground, wasmSimd, threads, engineThread } from './engine.js';
import { TABS, tabOf, hideCss, mountTab } from './views.js';
import { stateOf, withState } from './state.js';
import { tabList } from './a11y.js';

const $ = (id) => document.getElementById(id);
let params = new URLSearchParams(location.search);
const listeners = [];

function showBackend(pg) {
  $('backend').textContent = pg.backend;
  $('backend').dataset.backend = pg.backend;
  $('backend').dataset.wasm = wasmSimd();
  $('backend').dataset.threads = threads();
  $('backend').title = `wasm build: ${wasmSimd() === 'relaxed' ? 'relaxed SIMD (FMA)' : 'SIMD128'}, CPU path on ${threads()} thread(s)`;
  const reason = pg.fallbackReason;
  $('fallback').hidden = !reason;
  // The full reason can be long (adapter diagnostics): show its first clause, keep all in the tooltip.
  $('fallback').textContent = reason ? `(${reason.split(/[(:]/)[0].trim()})` : '';
  $('fallback').title = reason ?? '';
  const { thread, notice } = engineThread();
  $('backend').dataset.thread = thread;
  $('thread-notice').hidden = !notice;
  $('thread-notice').textContent = notice ? `(${notice})` : '';
}

/** Copies the page's link (its whole state) to the clipboard; says so beside the button. */
// The URL follows the state once it has been still for URL_QUIET_MS, and at least every
// URL_EVERY_MS while it keeps changing: a replaceState costs ~3–5 ms of the main thread, which
// while the reader types lands between a result and its frame (and Chromium ignores history
// calls past ~200 in 10 s).
const URL_QUIET_MS = 250, URL_EVERY_MS = 1000;
let urlTimer = 0, urlSince = 0; // the pending write, and when the first change it waits for came
function writeUrl() {
  clearTimeout(urlTimer);
  urlTimer = 0;
  history.replaceState(null, '', `?${params}`);
}
function scheduleUrl() {
  const now = performance.now();
  if (!urlTimer) urlSince = now;
  clearTimeout(urlTimer);
  urlTimer = setTimeout(writeUrl, Math.max(0, Math.min(URL_QUIET_MS, urlSince + URL_EVERY_MS - now)));
}

async function copyLink() {
  if (urlTimer) writeUrl();
  const done = $('copy-link').nextElementSibling;
  try {
    await navigator.clipboard.writeText(location.href);
    done.textContent = 'copied';
  } catch {
    // No clipboard permission (e.g. an insecure origin): select the link for a manual copy.
    done.textContent = location.href;
    getSelection()?.selectAllChildren(done);
  }
}

async function boot() {
  const embed = tabOf(params.get('embed')) ? params.get('embed') : null;
  let pg;
  try {
    pg = await getPlayground({ backend: params.get('backend') ?? 'auto', wasm: params.get('wasm'), worker: params.get('worker') !== '0' });
  } catch (e) {
    $('backend').textContent = 'unavailable';
    $('fallback').hidden = false;
    $('fallback').textContent = String(e?.message ?? e);
    return;
  }
  pg.onbackendchange = () => {
    showBackend(pg);
    listeners.forEach((fn) => fn(pg.backend));
  };
  showBackend(pg);
  $('copy-link').onclick = copyLink;

  const tabs = $('tabs'), views = $('views');
  const mounted = new Map(); // tab → Promise<controller>
  let current = null;
  const style = document.createElement('style');
  document.head.append(style);

  /** Writes the open tab's state into the URL (replaceState: the back button is not a log of edits). */
  async function remember(tab) {
    const controller = await mounted.get(tab);
    if (tab !== current || !controller?.state) return;
    const next = withState(params, tab, controller.state());
    if (!embed) next.set('view', tab);
    if (next.toString() !== params.toString()) {
      params = next;
      scheduleUrl();
    }
  }

  const app = {
    pg,
    models: params.get('models') ?? 'models/',
    /** Reports the time of the last computation. */
    status(ms, what = 'per computation') {
      $('timing').textContent = `· ${ms.toFixed(1)} ms ${what}`;
      showBackend(pg);
    },
    onBackendChange(fn) { listeners.push(fn); },
  };
  window.playground = app; // for the console and the browser tests

  async function open(id) {
    current = id;
    bar.select(id);
    for (const s of views.children) s.hidden = s.dataset.view !== id;
    if (!mounted.has(id)) {
      // The URL's state goes to the tab it was written for (the first one opened).
      const initial = mounted.size === 0 ? stateOf(params) : {};
      const section = views.querySelector(`[data-view="${id}"]`);
      const controller = mountTab(section, id, { ...app, initial, changed: () => remember(id) });
      mounted.set(id, controller);
      if (id === 'mechanisms' && params.get('demo')) controller.then((c) => c && (c.demo = params.get('demo')));
    }
    await mounted.get(id);
    window.playground.view = await mounted.get(id);
    window.playground.viewId = id;
    await remember(id);
  }
  for (const v of TABS) {
    const b = document.createElement('button');
    b.textContent = v.title;
    b.dataset.view = v.id;
    b.setAttribute('role', 'tab');
    b.onclick = () => open(v.id);
    tabs.append(b);
    const s = document.createElement('section');
    s.dataset.view = v.id;
    s.hidden = true;
    views.append(s);
  }
  const bar = tabList(tabs, (b) => views.querySelector(`section[data-view="${b.dataset.view}"]`), open);
  if (embed) {
    document.body.classList.add('embedded');
    style.textContent = hideCss(embed, params.get('hide') ?? '', params.get('demo') ?? '');
    return open(tabOf(embed));
  }
  style.textContent = hideCss(params.get('view') ?? '', params.get('hide') ?? '', params.get('demo') ?? '');
  await open(TABS.some((v) => v.id === params.get('view')) ? params.get('view') : TABS[0].id);
}

boot();
