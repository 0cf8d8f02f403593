// Boot: load the wasm module, create the Playground on the chosen backend, show the status line,
// and run the tabbed views. `?backend=cpu` (or `webgpu`) forces a backend; default 'auto'.
// `?wasm=simd128` (or `relaxed`) forces one of the two wasm builds.
//
// Adding a view: one module in js/views/ exporting `mount(section, app)`, and one entry in VIEWS.
// `app` = { pg, status(ms), onBackendChange(fn) }; views draw from the typed arrays pg returns.
import init, { Playground, wasmSimd } from '../pkg/attention_playground.js';

const VIEWS = [
  { id: 'attention', title: 'Attention', load: () => import('./views/attention.js') },
  { id: 'text', title: 'Text (MiniLM)', load: () => import('./views/text.js') },
  { id: 'image', title: 'Image (DINOv2)', load: () => import('./views/image.js') },
  { id: 'mechanisms', title: 'Mechanisms', load: () => import('./views/mechanisms.js') },
];

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const listeners = [];

function showBackend(pg) {
  $('backend').textContent = pg.backend;
  $('backend').dataset.backend = pg.backend;
  $('backend').dataset.wasm = wasmSimd();
  $('backend').title = `wasm build: ${wasmSimd() === 'relaxed' ? 'relaxed SIMD (FMA)' : 'SIMD128'}`;
  const reason = pg.fallbackReason;
  $('fallback').hidden = !reason;
  // The full reason can be long (adapter diagnostics): show its first clause, keep all in the tooltip.
  $('fallback').textContent = reason ? `(${reason.split(/[(:]/)[0].trim()})` : '';
  $('fallback').title = reason ?? '';
}

async function boot() {
  const choice = params.get('backend') ?? 'auto';
  let pg;
  try {
    // ?wasm=simd128 loads the build for engines without relaxed SIMD (init() picks otherwise).
    const build = { simd128: 'attention_playground_bg.wasm', relaxed: 'attention_playground_relaxed_bg.wasm' }[params.get('wasm')];
    await init(build ? { module_or_path: new URL(`../pkg/${build}`, import.meta.url) } : undefined);
    pg = await Playground.create({ backend: choice });
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
  const app = {
    pg,
    /** Reports the time of the last computation. */
    status(ms, what = 'per computation') {
      $('timing').textContent = `· ${ms.toFixed(1)} ms ${what}`;
      showBackend(pg);
    },
    onBackendChange(fn) { listeners.push(fn); },
  };
  window.playground = app; // for the console and the browser tests

  const tabs = $('tabs'), views = $('views');
  const mounted = new Map();
  async function open(id) {
    for (const b of tabs.children) b.setAttribute('aria-selected', String(b.dataset.view === id));
    for (const s of views.children) s.hidden = s.dataset.view !== id;
    if (!mounted.has(id)) {
      const view = VIEWS.find((v) => v.id === id);
      mounted.set(id, view.load().then((m) => m.mount(views.querySelector(`[data-view="${id}"]`), app)));
    }
    await mounted.get(id);
    if (params.get('view') !== id) {
      params.set('view', id);
      history.replaceState(null, '', `?${params}`);
    }
  }
  for (const v of VIEWS) {
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
  await open(VIEWS.some((v) => v.id === params.get('view')) ? params.get('view') : VIEWS[0].id);
}

boot();
