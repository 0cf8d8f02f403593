// One query's attention, stage by stage, as numbers and bars: (x →) q and the keys' k → q·k →
// ÷ √d (and temperature) → mask → softmax → Σ p·v. Shared by the Text tab (the model's captured
// q, k, v) and the Attention tab (its own inputs); the caller owns the query/layer/head pickers
// and passes the vectors, this module does the arithmetic (in float64) and the drawing.
//
// stepsView(root, { id }) → { draw(data), json() }, with data:
//   { tokens, query, d, q [d], k [n·d], v [n·d], score: 'dot' | 'scaled_dot' | 'cosine',
//     temperature, kept: boolean[n] | null (mask; null = every key), maskNote,
//     returned: Float32Array [n] | null (the row the backend returned, to compare),
//     x: { values, note } | null (the layer input, when known), qNote, kNote, vNote, outNote }
// Every number is text (class "num", data-key / data-dim say which); bars only repeat them.
import { el } from '../util.js';

const SHOWN_DIMS = 8;
const fmt = (v) => (v === -Infinity ? '−∞' : Number.isFinite(v) ? v.toFixed(4).replace('-', '−') : String(v));

/** The arithmetic of every stage for one query row. */
export function computeSteps({ query, d, q, k, v, score = 'scaled_dot', temperature = 1, kept = null }) {
  const n = k.length / d;
  const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
  const qRow = Array.from(q), kRows = [], vRows = [];
  for (let j = 0; j < n; j++) {
    kRows.push(Array.from(k.subarray(j * d, (j + 1) * d)));
    vRows.push(Array.from(v.subarray(j * d, (j + 1) * d)));
  }
  const norm = (a) => Math.sqrt(dot(a, a));
  const scores = kRows.map((kj) => dot(qRow, kj));
  const cos = score === 'cosine' ? kRows.map((kj, j) => (norm(qRow) && norm(kj) ? scores[j] / (norm(qRow) * norm(kj)) : 0)) : null;
  const divisor = (score === 'scaled_dot' ? Math.sqrt(d) : 1) * temperature;
  const scaled = (cos ?? scores).map((s) => s / divisor);
  const masked = scaled.map((s, j) => (kept && !kept[j] ? -Infinity : s));
  const top = Math.max(...masked);
  const e = masked.map((s) => (top === -Infinity ? 0 : Math.exp(s - top)));
  const sum = e.reduce((a, b) => a + b, 0);
  const p = e.map((x) => (sum ? x / sum : 0));
  const output = Array.from({ length: d }, (_, c) => vRows.reduce((s, vj, j) => s + p[j] * vj[c], 0));
  return { n, query, qRow, kRows, vRows, scores, cos, divisor, scaled, masked, p, output };
}

/** A bar for `v` on a scale of ±`max` (signed: blue right of the middle, orange left) or [0, max]. */
function bar(v, max, signed) {
  const f = Number.isFinite(v) && max > 0 ? Math.min(1, Math.abs(v) / max) : 0;
  const fill = el('span', { className: `steps-fill ${v < 0 ? 'neg' : 'pos'}` });
  if (signed) Object.assign(fill.style, v < 0 ? { right: '50%', width: `${f * 50}%` } : { left: '50%', width: `${f * 50}%` });
  else Object.assign(fill.style, { left: '0', width: `${f * 100}%` });
  const b = el('span', { className: `steps-bar${signed ? ' signed' : ''}` }, fill);
  b.setAttribute('aria-hidden', 'true');
  return b;
}

const num = (v, attrs = {}) => {
  const s = el('span', { className: 'num', textContent: fmt(v) });
  for (const [key, val] of Object.entries(attrs)) s.dataset[key] = String(val);
  return s;
};

/** A "show all N" toggle for a block that shows its first few items. */
function toggle(onChange, total, label) {
  const b = el('button', { type: 'button', className: 'steps-more', textContent: `show all ${total} ${label}` });
  b.setAttribute('aria-expanded', 'false');
  b.onclick = () => {
    const open = b.getAttribute('aria-expanded') !== 'true';
    b.setAttribute('aria-expanded', String(open));
    b.textContent = open ? `show the first ${SHOWN_DIMS}` : `show all ${total} ${label}`;
    onChange(open);
  };
  return b;
}

/** A vector as rows "dim · bar · value", the first SHOWN_DIMS with a toggle for the rest. */
function vector(values, name) {
  const max = Math.max(1e-12, ...values.map(Math.abs));
  const list = el('ol', { className: 'steps-list steps-vector' });
  list.setAttribute('aria-label', name);
  const fill = (all) => list.replaceChildren(...values.slice(0, all ? values.length : SHOWN_DIMS).map((x, i) =>
    el('li', {}, el('span', { className: 'steps-label', textContent: `${name}[${i}]` }), bar(x, max, true), num(x, { dim: i }))));
  fill(false);
  return values.length > SHOWN_DIMS ? el('div', {}, list, toggle(fill, values.length, 'dimensions')) : list;
}

/** One number per key, as rows "token · bar · value"; the chosen key marked. */
function perKey(tokens, values, chosen, { signed = true, name }) {
  const finite = values.filter(Number.isFinite);
  const max = Math.max(1e-12, ...finite.map(Math.abs));
  const list = el('ol', { className: 'steps-list' });
  list.setAttribute('aria-label', name);
  list.append(...values.map((x, j) => {
    const li = el('li', {}, el('span', { className: 'steps-label', textContent: tokens[j] }), bar(x, max, signed), num(x, { key: j }));
    if (j === chosen) (li.className = 'chosen'), li.append(el('span', { className: 'steps-mark', textContent: '◀ chosen key' }));
    return li;
  }));
  return list;
}

/** Keys × dims as a table (the first SHOWN_DIMS dims, with a toggle), the chosen key's row marked. */
function matrix(tokens, rows, chosen, name, weights = null) {
  const d = rows[0]?.length ?? 0;
  const table = el('table', { className: 'steps-table' });
  table.setAttribute('aria-label', name);
  const fill = (all) => {
    const dims = all ? d : Math.min(d, SHOWN_DIMS);
    const head = el('tr', {}, el('th', { scope: 'col', textContent: 'key' }),
      ...(weights ? [el('th', { scope: 'col', textContent: 'p' })] : []),
      ...Array.from({ length: dims }, (_, c) => el('th', { scope: 'col', textContent: String(c) })));
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows.map((r, j) => {
      const tr = el('tr', {}, el('th', { scope: 'row', textContent: tokens[j] + (j === chosen ? ' ◀' : '') }),
        ...(weights ? [el('td', {}, num(weights[j], { key: j, part: 'p' }))] : []),
        ...r.slice(0, dims).map((x, c) => el('td', {}, num(x, { key: j, dim: c }))));
      if (j === chosen) tr.className = 'chosen';
      return tr;
    })));
  };
  fill(false);
  // Focusable so a keyboard user can scroll a wide table sideways on a phone.
  const wrap = el('div', { className: 'steps-scroll', tabIndex: 0, role: 'region', ariaLabel: 'numbers, scrollable' }, table);
  return d > SHOWN_DIMS ? el('div', {}, wrap, toggle(fill, d, 'dimensions')) : wrap;
}

const STAGES = [
  ['x', 'input vector x'], ['qk', 'q and each key’s k'], ['scores', 'dot products q·k'], ['scaled', 'scaling'],
  ['mask', 'mask'], ['softmax', 'softmax'], ['output', 'weighted sum of the v’s'],
];

export function stepsView(root, { id }) {
  root.classList.add('steps-view');
  const keyPick = el('select', { id: `${id}-key`, name: 'key' });
  const prev = el('button', { type: 'button', textContent: '◀ previous stage' });
  const next = el('button', { type: 'button', textContent: 'next stage ▶' });
  const all = el('input', { type: 'checkbox', id: `${id}-all` });
  const where = el('span', { className: 'steps-where', role: 'status' });
  const nav = el('div', { className: 'controls steps-nav' },
    el('label', {}, 'highlight key ', keyPick), prev, next, el('label', {}, all, ' all stages'), where);
  const stages = el('div', { className: 'steps-stages' });
  root.replaceChildren(nav, stages);
  let data = null, steps = null, at = 0, shown = [];

  function showStage() {
    const sections = [...stages.children];
    at = Math.max(0, Math.min(at, sections.length - 1));
    sections.forEach((s, i) => (s.hidden = !all.checked && i !== at));
    prev.disabled = all.checked || at === 0;
    next.disabled = all.checked || at === sections.length - 1;
    where.textContent = all.checked ? `all ${sections.length} stages` : `stage ${at + 1} of ${sections.length}: ${sections[at]?.dataset.title ?? ''}`;
    root.dataset.stage = all.checked ? 'all' : sections[at]?.dataset.stage ?? '';
  }
  prev.onclick = () => ((at -= 1), showStage());
  next.onclick = () => ((at += 1), showStage());
  all.onchange = showStage;
  keyPick.onchange = () => render();

  function stage(key, title, formula, explain, ...body) {
    const s = el('section', { className: 'steps-stage' },
      el('h4', { textContent: title }), el('p', { className: 'steps-formula', textContent: formula }),
      ...(explain ? [el('p', { className: 'muted', textContent: explain })] : []), ...body);
    s.dataset.stage = key;
    s.dataset.title = title;
    return s;
  }

  function render() {
    if (!data) return;
    const { tokens, d } = data, key = Number(keyPick.value), st = steps;
    const T = data.temperature ?? 1;
    const out = [];
    if (data.x) out.push(stage('x', `1 · the input vector x of “${tokens[st.query]}”`, `x ∈ ℝ^${data.x.values.length}`, data.x.note, vector(Array.from(data.x.values), 'x')));
    out.push(stage('qk', `${out.length + 1} · q and each key’s k`, `q = x·W_q + b_q,  k_j = x_j·W_k + b_k  (${d} numbers each)`, data.qNote,
      el('h5', { textContent: `q, for the query “${tokens[st.query]}”` }), vector(st.qRow, 'q'),
      el('h5', { textContent: 'k, one row per key' }), matrix(tokens, st.kRows, key, 'k of every key')));
    const chosenTerms = st.qRow.slice(0, 3).map((x, c) => `${fmt(x)}·${fmt(st.kRows[key][c])}`).join(' + ');
    out.push(stage('scores', `${out.length + 1} · dot products`, `s_j = q·k_j = Σ_c q_c k_j,c`,
      `For the chosen key “${tokens[key]}”: ${chosenTerms} + … (${d} terms) = ${fmt(st.scores[key])}.`,
      perKey(tokens, st.scores, key, { name: 'q·k per key' })));
    const cos = data.score === 'cosine';
    const scaleFormula = (cos ? 'z_j = (q·k_j / (‖q‖ ‖k_j‖))' : 'z_j = s_j') + (data.score === 'scaled_dot' ? ` / √${d}` : '') + (T !== 1 || data.hasTemperature ? ` / T  (T = ${T})` : '');
    const scaleNote = data.score === 'scaled_dot'
      ? `Dividing by √${d} = ${Math.sqrt(d).toFixed(4)} keeps the scores’ spread independent of the head size, so softmax does not saturate.`
      : data.score === 'dot' ? 'The plain dot product: no division by √d.' : 'Cosine similarity: the dot product of the unit vectors.';
    out.push(stage('scaled', `${out.length + 1} · scaling`, scaleFormula, scaleNote, perKey(tokens, st.scaled, key, { name: 'scaled score per key' })));
    out.push(stage('mask', `${out.length + 1} · mask`, 'z_j → −∞ for keys the mask removes', data.maskNote ?? '', perKey(tokens, st.masked, key, { name: 'masked score per key' })));
    const softmax = stage('softmax', `${out.length + 1} · softmax`, 'p_j = exp(z_j) / Σ_i exp(z_i)', 'The attention row: every weight in [0, 1], summing to 1.',
      perKey(tokens, st.p, key, { signed: false, name: 'attention weight per key' }));
    if (data.returned) {
      const diff = st.p.reduce((m, x, j) => Math.max(m, Math.abs(x - data.returned[j])), 0);
      const check = el('p', { className: 'steps-check', textContent: `${data.returnedNote ?? 'The backend’s own attention row'} differs from this row by at most ${diff.toExponential(1)}.` });
      check.dataset.maxDiff = String(diff);
      softmax.append(check);
    }
    out.push(softmax);
    out.push(stage('output', `${out.length + 1} · weighted sum of the v’s`, 'o = Σ_j p_j v_j', data.outNote ?? '',
      el('h5', { textContent: 'v, one row per key, with its weight p' }), matrix(tokens, st.vRows, key, 'v of every key', st.p),
      el('h5', { textContent: `o, the output for “${tokens[st.query]}”` }), vector(st.output, 'o')));
    stages.replaceChildren(...out);
    shown = out.map((s) => s.dataset.stage);
    showStage();
  }

  return {
    /** Draws `data` (see the file header); keeps the stage and the chosen key where possible. */
    draw(d) {
      data = d;
      steps = computeSteps(d);
      const before = keyPick.options.length ? Number(keyPick.value) : NaN;
      keyPick.replaceChildren(...d.tokens.map((t, j) => new Option(`${j}: ${t}`, String(j))));
      keyPick.value = String(d.key ?? (before < d.tokens.length ? before : d.query));
      const stage = shown[at];
      render();
      if (stage && shown.includes(stage)) (at = shown.indexOf(stage)), showStage();
      return steps;
    },
    steps: () => steps,
    json: () => (steps ? { query: steps.query, tokens: data.tokens, q: steps.qRow, scores: steps.scores, scaled: steps.scaled, weights: steps.p, output: steps.output } : {}),
  };
}
