// Attention rollout (Abnar & Zuidema 2020) through the layers, computed by the playground
// (`pg.rollout`, both backends) on the full maps, through the chosen layer, as a heatmap.
// Without pg.rollout in this build the panel stays disabled and says so.
import { heatmap } from './heatmap.js';
import { restrict } from './text-maps.js';

export function rolloutView(root, pg) {
  root.classList.add('text-rollout');
  const fusion = document.createElement('select');
  fusion.name = 'headFusion';
  for (const f of ['mean', 'max', 'min']) fusion.append(new Option(f, f));
  const residual = Object.assign(document.createElement('input'), { type: 'checkbox', name: 'residual', checked: true });
  const controls = document.createElement('div');
  controls.className = 'controls';
  const label = (text, input) => {
    const l = document.createElement('label');
    l.append(text, input);
    return l;
  };
  controls.append(label('head fusion ', fusion), label(residual, ' residual (0.5·A + 0.5·I)'));
  const note = document.createElement('p');
  note.className = 'muted';
  const map = document.createElement('div');
  root.append(controls, note, map);
  const hm = heatmap(map);

  const available = typeof pg.rollout === 'function';
  let last = null, cache = null, token = 0;
  if (!available) {
    fusion.disabled = residual.disabled = true;
    root.classList.add('disabled');
    root.dataset.state = 'unavailable';
    note.textContent = 'Rollout needs pg.rollout, which this build of the playground does not have.';
  }
  const redraw = () => last && draw(last);
  fusion.onchange = residual.onchange = redraw;

  async function draw(v) {
    last = v;
    if (!available) return;
    const { r, keep, labels, layer } = v;
    const n = r.tokens.length, nn = n * n, key = `${fusion.value}/${residual.checked}/${layer}`;
    const mine = ++token;
    try {
      if (cache?.r !== r) cache = { r, maps: new Map() };
      if (!cache.maps.has(key)) {
        // pg.rollout gives R_L of the layers it is given: pass layers 1..layer+1.
        const out = await pg.rollout(r.attention.subarray(0, (layer + 1) * r.heads * nn), layer + 1, r.heads, n,
          { residual: residual.checked, headFusion: fusion.value });
        if (out.length !== nn && out.length !== (layer + 1) * nn) {
          throw new Error(`pg.rollout returned ${out.length} values for ${n} × ${n} tokens`);
        }
        cache.maps.set(key, out.subarray(out.length - nn));
      }
      if (mine !== token) return; // a newer draw superseded this one
      hm.draw(restrict(cache.maps.get(key), n, keep), labels, labels);
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
  return { draw };
}
