// Shared pieces of the Mechanisms demos: a card with controls, a readout and a debounced runner
// that counts its updates (data-updates, for the page test), and seeded inputs. The demos compute
// every number with pg calls; what is here only builds inputs and widgets.

import { latest, labelled, picker } from '../util.js';

const DEBOUNCE_MS = 60;

/** A range input; `fmt` shows its value beside it. Returns the input (read `.value`). */
export function slider(parent, name, text, { min, max, step, value }, fmt = (v) => v) {
  const input = Object.assign(document.createElement('input'), { type: 'range', name, min, max, step, value });
  const out = document.createElement('output');
  const sync = () => (out.textContent = fmt(Number(input.value)));
  input.addEventListener('input', sync);
  sync();
  parent.append(labelled(text, input), out);
  return input;
}

export function select(parent, name, text, values, value = values[0]) {
  const s = picker(name, values, value);
  parent.append(labelled(text, s));
  return s;
}

export function checkbox(parent, name, text, checked) {
  const c = Object.assign(document.createElement('input'), { type: 'checkbox', name, checked });
  parent.append(labelled(text, c));
  return c;
}

export function button(parent, name, text) {
  const b = Object.assign(document.createElement('button'), { type: 'button', name, textContent: text });
  parent.append(b);
  return b;
}

/** A heatmap-sized holder with a caption. */
export function figure(parent, caption) {
  const f = document.createElement('figure');
  const c = document.createElement('figcaption');
  c.textContent = caption;
  const body = document.createElement('div');
  f.append(c, body);
  parent.append(f);
  return { body, caption: c };
}

/**
 * A demo card: `<article data-demo=id>` with title, blurb, a controls row, a body and a readout.
 * `card.run(fn)` sets the computation; `card.schedule()` runs it debounced, one at a time (the
 * latest request wins), counting finished runs in data-updates and showing errors.
 */
export function card(parent, id, title, blurb) {
  const root = document.createElement('article');
  root.className = 'mech-card';
  root.dataset.demo = id;
  root.dataset.updates = '0';
  const h = document.createElement('h3');
  h.textContent = title;
  const p = document.createElement('p');
  p.className = 'muted';
  p.textContent = blurb;
  const controls = document.createElement('div');
  controls.className = 'controls';
  controls.dataset.part = 'controls';
  const body = document.createElement('div');
  body.className = 'mech-row';
  const readout = document.createElement('div');
  readout.className = 'mech-readout';
  const err = document.createElement('div');
  err.className = 'error';
  root.append(h, p, controls, body, readout, err);
  parent.append(root);

  let fn = async () => {};
  const runner = latest(async () => {
    try {
      await fn();
      err.textContent = '';
      delete root.dataset.error;
    } catch (e) {
      err.textContent = String(e?.message ?? e);
      root.dataset.error = err.textContent;
    } finally {
      root.dataset.updates = String(Number(root.dataset.updates) + 1);
    }
  }, DEBOUNCE_MS);
  const schedule = () => runner.schedule();
  // Any edit in the controls row recomputes.
  controls.addEventListener('input', schedule);
  controls.addEventListener('click', (e) => e.target.tagName === 'BUTTON' && schedule());
  return { root, controls, body, readout, schedule, run(f) { fn = f; schedule(); } };
}

import { stream } from '../embedding.js';

/** `n` floats in [-1, 1) from a 32-bit seed: the demos' random inputs. */
export const randoms = (n, seed) => stream(seed, n);

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
export const fmt = (x, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
