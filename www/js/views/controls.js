// Controls for one attention call: score, temperature, normalizer, mask. `get()` returns the
// matching Playground.attention options; `onChange` fires on every edit.

function field(labelText, input) {
  const label = document.createElement('label');
  label.append(labelText, input);
  return label;
}

function select(name, values) {
  const s = document.createElement('select');
  s.name = name;
  for (const v of values) s.append(new Option(v, v));
  return s;
}

export function controls(root, onChange) {
  root.classList.add('controls');
  const score = select('score', ['scaled_dot', 'dot', 'cosine', 'neg_sq_dist']);
  const normalizer = select('normalizer', ['softmax', 'sparsemax', 'entmax15']);
  const mask = select('mask', ['none', 'causal', 'window', 'topK']);
  const maskN = Object.assign(document.createElement('input'), { type: 'number', name: 'maskN', min: 0, value: 2 });
  // Temperature on a log scale from 0.05 to 20.
  const temp = Object.assign(document.createElement('input'), { type: 'range', name: 'temperature', min: -3, max: 3, step: 0.01, value: 0 });
  const tempOut = document.createElement('output');
  const temperature = () => Math.round(Math.exp(Number(temp.value)) * 100) / 100;
  const sync = () => {
    tempOut.textContent = temperature().toFixed(2);
    maskN.hidden = mask.value === 'none' || mask.value === 'causal';
    maskN.min = mask.value === 'topK' ? 1 : 0;
  };
  temp.min = Math.log(0.05);
  temp.max = Math.log(20);
  root.append(
    field('score ', score),
    field('temperature ', temp), tempOut,
    field('normalizer ', normalizer),
    field('mask ', mask), maskN,
  );
  for (const el of [score, normalizer, mask, maskN, temp]) el.addEventListener('input', () => (sync(), onChange()));
  sync();
  return {
    get() {
      const n = Math.max(Number(maskN.min), Math.floor(Number(maskN.value) || 0));
      const m = mask.value === 'window' ? { window: n } : mask.value === 'topK' ? { topK: n } : mask.value;
      return { score: score.value, temperature: temperature(), normalizer: normalizer.value, mask: m };
    },
  };
}
