// Attention rollout (Abnar & Zuidema 2020) through the layers, computed by the playground
// (`pg.rollout`, both backends, cached per result in util.js) on the full maps, through the
// chosen layer, as a heatmap. Without pg.rollout in this build the panel stays disabled and says so.
// State: fusion ('mean' | 'max' | 'min'), residual ('1' | '0').
import { el, labelled, rolloutOf } from '../util.js';
import { heatmap } from './heatmap.js';
import { restrict } from './text-maps.js';

export function rolloutView(root, pg, onChange = () => {}) {
  root.classList.add('text-rollout');
  const fusion = el('select', { name: 'headFusion' });
  for (const f of ['mean', 'max', 'min']) fusion.append(new Option(f, f));
  const residual = el('input', { type: 'checkbox', name: 'residual', checked: true });
  const controls = el('div', { className: 'controls' }, labelled('head fusion ', fusion), labelled(residual, ' residual (0.5·A + 0.5·I)'));
  controls.dataset.part = 'controls fusion residual';
  const note = el('p', { className: 'muted' });
  const map = el('div');
  root.append(controls, note, map);
  const hm = heatmap(map);

  const available = typeof pg.rollout === 'function';
  let last = null, token = 0;
  if (!available) {
    fusion.disabled = residual.disabled = true;
    root.classList.add('disabled');
    root.dataset.state = 'unavailable';
    note.textContent = 'Rollout needs pg.rollout, which this build of the playground does not have.';
  }
  const redraw = () => last && draw(last);
  fusion.onchange = residual.onchange = () => (redraw(), onChange());

  async function draw(v) {
    last = v;
    if (!available) return;
    const { r, keep, labels, layer } = v;
    const mine = ++token;
    try {
      const map = await rolloutOf(pg, r, layer, { residual: residual.checked, headFusion: fusion.value });
      if (mine !== token) return; // a newer draw superseded this one
      hm.draw(restrict(map, r.tokens.length, keep), labels, labels);
      root.dataset.state = 'ready';
      root.dataset.layer = String(layer);
      note.textContent = `Rollout through layer ${layer + 1}: ${fusion.value} over heads${residual.checked ? ', residual-aware' : ''}, ` +
        'rows renormalized; row i = how much each input token flows into token i.';
    } catch (e) {
      if (mine !== token) return;
      root.dataset.state = 'error';
      note.textContent = `rollout failed: ${e?.message ?? e}`;
    }
  }
  return {
    draw,
    /** Starts the engine on the rollout the next draw of result `r` at `layer` will ask for. */
    prefetch(r, layer) {
      if (available) rolloutOf(pg, r, layer, { residual: residual.checked, headFusion: fusion.value }).catch(() => {}); // draw() reports errors
    },
    png: hm.png,
    svg: hm.svg,
    json: () => ({ fusion: fusion.value, residual: residual.checked, ...hm.json() }),
    state: () => ({ fusion: fusion.value, residual: residual.checked ? '1' : '0' }),
    set(s) {
      let again = false;
      if (['mean', 'max', 'min'].includes(s.fusion) && s.fusion !== fusion.value) (fusion.value = s.fusion), (again = true);
      if (s.residual !== undefined && (s.residual !== '0' && s.residual !== 'false') !== residual.checked) (residual.checked = !residual.checked), (again = true);
      if (again) redraw();
    },
  };
}
