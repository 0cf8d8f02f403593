// Controls for one attention call: score, temperature, normalizer, mask. `get()` returns the
// matching Playground.attention options; `state()` / `set(state)` the same as strings (the URL
// and element attributes: temperature as T, mask as 'none' | 'causal' | 'window:2' | 'topK:3');
// `onChange` fires on every edit.
import { el, picker as select } from '../util.js';

function field(name, labelText, input) {
  const label = el('label', {}, labelText, input);
  label.dataset.part = `controls ${name}`;
  return label;
}

export function controls(root, onChange) {
  root.classList.add('controls');
  const score = select('score', ['scaled_dot', 'dot', 'cosine', 'neg_sq_dist']);
  const normalizer = select('normalizer', ['softmax', 'sparsemax', 'entmax15']);
  const mask = select('mask', ['none', 'causal', 'window', 'topK']);
  const maskN = el('input', { type: 'number', name: 'maskN', min: 0, value: 2 });
  maskN.setAttribute('aria-label', 'mask size: window half-width or k');
  // Temperature on a log scale from 0.05 to 20.
  const temp = el('input', { type: 'range', name: 'temperature', min: -3, max: 3, step: 0.01, value: 0 });
  const tempOut = el('output');
  const temperature = () => Math.round(Math.exp(Number(temp.value)) * 100) / 100;
  const sync = () => {
    tempOut.textContent = temperature().toFixed(2);
    maskN.hidden = mask.value === 'none' || mask.value === 'causal';
    maskN.min = mask.value === 'topK' ? 1 : 0;
  };
  temp.min = Math.log(0.05);
  temp.max = Math.log(20);
  const maskLabel = field('mask', 'mask ', mask);
  maskLabel.append(maskN);
  const tempLabel = field('temperature', 'temperature ', temp);
  tempLabel.append(tempOut);
  root.append(field('score', 'score ', score), tempLabel, field('normalizer', 'normalizer ', normalizer), maskLabel);
  for (const e of [score, normalizer, mask, maskN, temp]) e.addEventListener('input', () => (sync(), onChange()));
  sync();
  const n = () => Math.max(Number(maskN.min), Math.floor(Number(maskN.value) || 0));
  const pick = (s, v) => v !== undefined && [...s.options].some((o) => o.value === v) && (s.value = v);
  return {
    get() {
      const m = mask.value === 'window' ? { window: n() } : mask.value === 'topK' ? { topK: n() } : mask.value;
      return { score: score.value, temperature: temperature(), normalizer: normalizer.value, mask: m };
    },
    state() {
      const m = mask.value === 'window' || mask.value === 'topK' ? `${mask.value}:${n()}` : mask.value;
      return { score: score.value, temperature: String(temperature()), normalizer: normalizer.value, mask: m };
    },
    set(s) {
      pick(score, s.score);
      pick(normalizer, s.normalizer);
      const t = Number(s.temperature);
      if (s.temperature !== undefined && t > 0) temp.value = String(Math.log(t));
      if (s.mask !== undefined) {
        const [kind, size] = String(s.mask).split(':');
        pick(mask, kind);
        if (size !== undefined && Number.isFinite(Number(size))) maskN.value = size;
      }
      sync();
    },
  };
}
