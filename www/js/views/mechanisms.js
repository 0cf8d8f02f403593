// The Mechanisms tab (issue 5): a panel with every attention option, and eight small demos that
// compute live on the active backend — each a module mech-*.js exporting demo(parent, app). All
// numbers come from pg calls (attention, multiHead, rollout, Playground.sinusoidal).
// State (URL keys / element attributes): the panel's text, score, temperature, normalizer, mask,
// and its other controls by name (positions, biasStrength, dropout, dropoutSeed, stats,
// returnWeights); each demo's controls as `<demo>-<name>` (e.g. masks-size); `demo` (1-8) shows
// one demo alone.
import { Playground } from '../engine.js';
import { el, useCss } from '../util.js';
import { svgWriter, composePNG } from '../export.js';
import { panel } from './mech-panel.js';
import { glossary } from '../glossary.js';

export const DEMOS = ['scaling', 'temperature', 'normalizers', 'permutation', 'masks', 'multihead', 'regression', 'looking'];
const BASE = ['score', 'temperature', 'normalizer', 'mask', 'maskN'];

/** The form controls with a name under `root`. */
const named = (root) => [...root.querySelectorAll('input[name], select[name], textarea[name]')];
const valueOf = (e) => (e.type === 'checkbox' ? (e.checked ? '1' : '0') : e.value);
function setValue(e, v) {
  if (v === undefined || valueOf(e) === v) return;
  if (e.type === 'checkbox') e.checked = v === '1' || v === 'true' || v === '';
  else if (e.tagName !== 'SELECT' || [...e.options].some((o) => o.value === v)) e.value = v;
  e.dispatchEvent(new Event('input', { bubbles: true }));
  e.dispatchEvent(new Event('change', { bubbles: true }));
}

/** PNG, SVG and JSON of one card: its canvases (each exports itself), its readout and numbers. */
function cardExporter(root) {
  const canvases = () => [...root.querySelectorAll('canvas')].filter((c) => c.getClientRects().length);
  return {
    png: () => composePNG(root.querySelector('.mech-row') ?? root),
    svg() {
      const box = root.getBoundingClientRect(), s = svgWriter(box.width, box.height);
      s.rect(0, 0, box.width, box.height, '#fff');
      s.text(root.querySelector('h3')?.textContent ?? '', 8, 14, { size: 14 });
      for (const c of canvases()) {
        const b = c.getBoundingClientRect();
        const inner = c.exportSVG?.() ?? '';
        // Each canvas's own SVG, placed where the canvas sits (its labels included).
        s.raw(inner.replace('<svg ', `<svg x="${(b.left - box.left).toFixed(1)}" y="${(b.top - box.top).toFixed(1)}" `));
      }
      return s.done();
    },
    json: () => ({
      view: `mechanisms-${root.dataset.demo}`,
      readout: root.querySelector('.mech-readout')?.textContent ?? '',
      data: { ...root.dataset },
      figures: canvases().map((c) => c.exportJSON?.() ?? null),
    }),
  };
}

export async function mount(section, app) {
  useCss(app, 'mechanisms');
  const changed = () => app.changed?.();
  const terms = glossary(['query', 'softmax', 'temperature', 'mask', 'heads', 'entropy', 'rollout', 'residual'], 'What do these words mean?', 'glossary mech-panel');
  section.append(terms);
  const main = panel(section, app, Playground);
  main.root.dataset.part = 'mech-panel';
  const title = el('h2', { className: 'mech-grid-title', textContent: 'Show it' });
  title.dataset.part = 'mech-title';
  const grid = el('div', { className: 'mech-grid' });
  section.append(title, grid);
  const modules = await Promise.all(DEMOS.map((d) => import(`./mech-${d}.js`)));
  // Cards appear in order; each starts computing as soon as it is built (pg serializes the calls).
  for (const m of modules) m.demo(grid, app);
  const cards = [...grid.querySelectorAll('article[data-demo]')];
  cards.forEach((c, i) => (c.dataset.part = `demo demo-${i + 1} demo-${c.dataset.demo}`));
  section.addEventListener('input', (e) => e.isTrusted && changed());
  section.addEventListener('click', (e) => e.isTrusted && e.target.tagName === 'BUTTON' && changed());

  const panelControls = () => named(main.controls).filter((e) => !BASE.includes(e.name));
  const state = () => {
    const s = { text: main.text.value, ...main.base.state() };
    for (const e of panelControls()) s[e.name] = valueOf(e);
    for (const c of cards) for (const e of named(c)) s[`${c.dataset.demo}-${e.name}`] = valueOf(e);
    return s;
  };
  function set(s) {
    if (s.text !== undefined && s.text !== main.text.value) setValue(main.text, s.text);
    if (BASE.some((k) => s[k] !== undefined)) {
      main.base.set(s);
      main.schedule();
    }
    for (const e of panelControls()) setValue(e, s[e.name]);
    for (const c of cards) for (const e of named(c)) setValue(e, s[`${c.dataset.demo}-${e.name}`]);
  }
  set(app.initial ?? {});
  const exporters = { 'mech-panel': cardExporter(main.root) };
  cards.forEach((c, i) => (exporters[`demo-${i + 1}`] = cardExporter(c)));
  return { exporters, main: 'mech-panel', state, set, cards };
}
