// The helpers every view shares: DOM building, a task queue, the latest-request-wins runner,
// the colour maps, and the rollout cache. One copy here, so the views (and pkg/) never fork them.

/** `<tag>` with properties `props` and children `kids` (strings become text, never HTML). */
export function el(tag, props = {}, ...kids) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
}

/** `<select name>` of `options` (values, or [value, label] pairs), set to `value` (default the first). */
export function picker(name, options, value) {
  const s = el('select', { name });
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.append(new Option(label, String(v)));
  }
  if (value !== undefined) s.value = String(value);
  return s;
}

/** `<label>text input</label>`. */
export const labelled = (text, input) => el('label', {}, text, input);

// A new task right away: a message, because chained setTimeout(0)s are clamped, and in a
// background tab batched to about one a second.
const tick = new MessageChannel();
const queue = [];
tick.port1.onmessage = () => queue.shift()?.();
export function soon(fn) {
  queue.push(fn);
  tick.port2.postMessage(0);
}

/** Resolves in the next animation frame: views draw there, once per frame however fast results come. */
export const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/**
 * Never more than one `task` in flight (debounced only where `delay` > 0), the latest request wins: `schedule()` runs it
 * after `delay` ms; `edited()` also marks any run in flight as stale (the task's `stale()` then
 * says so, and it runs again with the newer input).
 */
export function latest(task, delay = 0) {
  let running = false, again = false, timer = 0, version = 0;
  async function go() {
    if (running) return void (again = true);
    running = true;
    const mine = version;
    try {
      await task(() => mine !== version);
    } finally {
      running = false;
      if (again || mine !== version) {
        again = false;
        schedule(0);
      }
    }
  }
  function schedule(ms = delay) {
    clearTimeout(timer);
    timer = setTimeout(go, ms);
  }
  return { schedule, go, edited(ms = delay) { version++; schedule(ms); } };
}

// ---- colours ----

/** White → deep blue for a weight in [0, 1]; sqrt so small weights stay visible. */
export function ramp(w) {
  const c = [0, 0, 0];
  rampInto(c, 0, w);
  return c;
}

/** ramp(w) written into out[at..at+3) (an image's pixels: no array per pixel). */
export function rampInto(out, at, w) {
  const t = Math.sqrt(Math.min(1, Math.max(0, w)));
  out[at] = Math.round(255 - t * 222);
  out[at + 1] = Math.round(255 - t * 168);
  out[at + 2] = Math.round(255 - t * 43);
}

// Colour maps as stops on [0, 1] (sampled from matplotlib's viridis/magma and a plain ramp).
const MAPS = {
  viridis: [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]],
  magma: [[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]],
  inferno: [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
  gray: [[0, 0, 0], [255, 255, 255]],
};
export const COLORMAPS = Object.keys(MAPS);

/** [r, g, b] of colour map `name` at v in [0, 1]. */
export function colour(name, v) {
  const c = [0, 0, 0];
  colourInto(c, 0, name, v);
  return c;
}

/** colour(name, v) written into out[at..at+3) (an image's pixels: no array per pixel). */
export function colourInto(out, at, name, v) {
  const stops = MAPS[name] ?? MAPS.viridis;
  const x = Math.min(1, Math.max(0, v)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x)), t = x - i, a = stops[i], b = stops[i + 1];
  out[at] = Math.round(a[0] + (b[0] - a[0]) * t);
  out[at + 1] = Math.round(a[1] + (b[1] - a[1]) * t);
  out[at + 2] = Math.round(a[2] + (b[2] - a[2]) * t);
}

export const rgb = ([r, g, b]) => `rgb(${r},${g},${b})`;

// ---- rollout ----

const rollouts = new WeakMap(); // result → Map(key → Promise<Float32Array [n, n]>)

/**
 * Rollout R through layer `layer` (0-based) of a model result `r` ({ attention [layers, heads,
 * n, n], heads, and tokens: n or a token list }), computed by pg.rollout once per result and
 * options. Resolves to a Float32Array [n, n].
 */
export async function rolloutOf(pg, r, layer, { residual = true, headFusion = 'mean' } = {}) {
  if (typeof pg.rollout !== 'function') throw new Error('this build of the playground has no pg.rollout');
  const n = typeof r.tokens === 'number' ? r.tokens : r.tokens.length, nn = n * n;
  if (!rollouts.has(r)) rollouts.set(r, new Map());
  const cache = rollouts.get(r), key = `${layer}/${residual}/${headFusion}`;
  // The promise is cached, so a request made early (the text view asks as soon as a result
  // arrives) is the one the panel awaits; a failed one is forgotten, to be asked again.
  if (!cache.has(key)) {
    cache.set(key, (async () => {
      // pg.rollout gives R_L of the layers it is given: pass layers 1..layer+1.
      const out = await pg.rollout(r.attention.subarray(0, (layer + 1) * r.heads * nn), layer + 1, r.heads, n, { residual, headFusion });
      const m = out instanceof Float32Array ? out : (out.rollout ?? out.weights);
      if (m.length !== nn && m.length !== (layer + 1) * nn) throw new Error(`pg.rollout returned ${m.length} values for ${n} × ${n} tokens`);
      return m.subarray(m.length - nn);
    })());
    cache.get(key).catch(() => cache.delete(key));
  }
  return cache.get(key);
}

// ---- styles ----

const CSS_DIR = new URL('../css/', import.meta.url);
/** A <link> to www/css/`name`.css (pkg/css/ in the package). */
export const cssLink = (name) => el('link', { rel: 'stylesheet', href: new URL(`${name}.css`, CSS_DIR).href });

/** Adds a view's stylesheet where the view lives: `app.css(name)` (a shadow root), else the page's head once. */
export function useCss(app, name) {
  if (app.css) return app.css(name);
  if (!document.head.querySelector(`link[data-css="${name}"]`)) {
    const l = cssLink(name);
    l.dataset.css = name;
    document.head.append(l);
  }
}
