// BertViz's neuron view for one query: q, then per key its k, the elementwise q⊙k (each product
// coloured by sign: blue positive, orange negative, colour-blind safe; deeper = larger), the sum
// q·k, and the softmax weight beside them. The vector cells are colour only (each carries its
// value as a tooltip); q·k and the weight are text, and every vector is in the step-by-step too.
import { el } from '../util.js';

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(4).replace('-', '−') : '−∞');

/** Cells for a vector, coloured by sign on the scale ±max. */
function cells(values, max) {
  const row = el('span', { className: 'neuron-cells' });
  row.setAttribute('aria-hidden', 'true');
  for (const v of values) {
    const c = el('span', { className: v < 0 ? 'neg' : 'pos', title: fmt(v) });
    c.style.opacity = String(0.12 + 0.88 * Math.min(1, Math.abs(v) / max));
    row.append(c);
  }
  return row;
}

/** Draws `steps` (computeSteps' result) with `tokens` into `root`; the chosen key's row marked. */
export function drawNeuron(root, tokens, steps, chosen) {
  const { qRow, kRows, p, scores } = steps;
  const prods = kRows.map((k) => k.map((x, c) => x * qRow[c]));
  const maxV = Math.max(1e-12, ...qRow.map(Math.abs), ...kRows.flat().map(Math.abs));
  const maxP = Math.max(1e-12, ...prods.flat().map(Math.abs));
  const table = el('table', { className: 'neuron-table' });
  table.setAttribute('aria-label', `neuron view for the query “${tokens[steps.query]}”`);
  const th = (t) => el('th', { scope: 'col', textContent: t });
  const q = el('tr', { className: 'neuron-q' }, el('th', { scope: 'row', textContent: `q: ${tokens[steps.query]}` }), el('td', {}, cells(qRow, maxV)), el('td'), el('td'), el('td'));
  table.append(el('thead', {}, el('tr', {}, th('token'), th('k'), th('q⊙k'), th('q·k'), th('softmax'))),
    el('tbody', {}, q, ...kRows.map((k, j) => {
      const weight = el('td', {}, el('span', { className: 'num', textContent: fmt(p[j]) }));
      const w = el('span', { className: 'neuron-weight' });
      w.style.width = `${Math.round(p[j] * 100)}%`;
      w.setAttribute('aria-hidden', 'true');
      weight.prepend(w);
      const tr = el('tr', {}, el('th', { scope: 'row', textContent: tokens[j] + (j === chosen ? ' ◀' : '') }),
        el('td', {}, cells(k, maxV)), el('td', {}, cells(prods[j], maxP)),
        el('td', {}, el('span', { className: 'num', textContent: fmt(scores[j]) })), weight);
      tr.dataset.key = String(j);
      if (j === chosen) tr.className = 'chosen';
      return tr;
    })));
  const legend = el('p', { className: 'muted neuron-legend' },
    el('span', { className: 'neuron-swatch pos' }), ' positive  ', el('span', { className: 'neuron-swatch neg' }), ' negative; deeper colour = larger magnitude. ',
    'q·k is the sum of the q⊙k row; softmax of the scaled sums gives the weight.');
  root.replaceChildren(el('div', { className: 'steps-scroll', tabIndex: 0, role: 'region', ariaLabel: 'neuron view, scrollable' }, table), legend);
}
