// The Text (MiniLM) tab, www/js/views/text*.js.
//
// 1. With the real model (index.html?view=text, pkg/ + www/models from `make build`): it loads,
//    typing updates the head view and the matrix, a thumbnail opens its layer/head, hiding
//    [CLS]/[SEP] changes the labels, a pair adds a [SEP], and garbage input (odd Unicode, 5000
//    words) shows the truncation notice and no error.
// 2. The view logic against a small deterministic stand-in for pg (defined here, never shipped):
//    stale results are dropped, errors keep the previous result, hidden specials renormalize rows,
//    rollout is disabled without pg.rollout, and a backend change keeps the text and the view.

const CAT = ['[CLS]', 'the', 'cat', 'sat', 'on', 'the', 'mat', 'because', 'it', 'was', 'warm', '.', '[SEP]'];

const labels = (page, root) => page.locator(`${root} .rows span`).allTextContents();
const updates = async (page) => Number(await page.locator('section[data-view="text"]').getAttribute('data-updates') ?? 0);

/** Waits until the matrix shows exactly these row labels. */
async function waitForLabels(page, want, root = '#text-matrix') {
  await page.waitForFunction(([root, want]) => {
    const got = [...document.querySelectorAll(`${root} .rows span`)].map((s) => s.textContent);
    return JSON.stringify(got) === JSON.stringify(want);
  }, [root, want]);
}

/** A cheap fingerprint of a canvas's pixels, to see that a redraw changed it. */
function pixels(page, selector) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 0, ink = 0;
    for (let i = 0; i < d.length; i += 4) {
      h = (Math.imul(h, 31) + d[i] + 7 * d[i + 1] + 13 * d[i + 2] + 17 * d[i + 3]) | 0;
      if (d[i + 3] > 0 && d[i] < 250) ink++;
    }
    return { w: c.width, h: c.height, hash: h, ink };
  }, selector);
}

async function openText(open, query = '') {
  const page = await open(`index.html?view=text${query}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('section[data-view="text"]')?.dataset.state));
  const state = await page.locator('section[data-view="text"]').getAttribute('data-state');
  if (state === 'error') throw new Error(`the text model did not load: ${await page.locator('.text-load').textContent()}`);
  await waitForLabels(page, CAT);
  return page;
}

/** Whether this build has the text API; the real-model tests need it (and `make build`'s model). */
async function hasTextApi(open) {
  const page = await open('harness.html');
  await page.waitForFunction(() => window.apReady || window.apError);
  return page.evaluate(() => typeof window.ap?.Playground?.prototype?.loadTextModel === 'function');
}

// ---- the stand-in: words become tokens; maps are a deterministic softmax of token hashes ----
function installFake({ delayMs = 0, holdLoad = false, withRollout = false } = {}) {
  const hash = (s) => {
    let h = 2166136261;
    for (const ch of s) h = Math.imul(h ^ ch.codePointAt(0), 16777619);
    return h >>> 0;
  };
  const words = (s) => s.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
  const listeners = [];
  const calls = [];
  let release;
  const loaded = holdLoad ? new Promise((r) => (release = r)) : null;
  const pg = {
    backend: 'cpu',
    async loadTextModel(url, onProgress) {
      for (let i = 0; i <= 3; i++) onProgress?.({ loaded: i * 1e6, total: 4e6 });
      await loaded;
      onProgress?.({ loaded: 4e6, total: 4e6 });
    },
    async runText(text, pair) {
      calls.push([text, pair]);
      await new Promise((r) => setTimeout(r, delayMs));
      if (text.includes('boom')) throw new Error('boom: the stand-in refuses this');
      let tokens = ['[CLS]', ...words(text), '[SEP]'];
      if (pair !== undefined) tokens.push(...words(pair), '[SEP]');
      const truncated = tokens.length > 512;
      if (truncated) tokens = [...tokens.slice(0, 511), '[SEP]'];
      const n = tokens.length, L = 6, H = 12, hs = tokens.map(hash);
      const attention = new Float32Array(L * H * n * n);
      for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) for (let i = 0; i < n; i++) {
        const row = ((l * H + h) * n + i) * n;
        let sum = 0;
        for (let j = 0; j < n; j++) {
          const e = Math.exp((((hs[i] * (h + 1)) ^ (hs[j] * (l + 3))) >>> 0) % 97 / 20);
          attention[row + j] = e;
          sum += e;
        }
        for (let j = 0; j < n; j++) attention[row + j] /= sum;
      }
      return { tokens, layers: L, heads: H, attention, embedding: new Float32Array(384), truncated };
    },
  };
  // Plain rollout (mean over heads, residual): R_L = Ã_L ⋯ Ã_1, [n, n], as pg.rollout returns it.
  if (withRollout) pg.rollout = async (maps, L, H, n, { residual, headFusion }) => {
    if (headFusion !== 'mean' || !residual) throw new Error('the stand-in rollout only does mean + residual');
    const out = new Float32Array(L * n * n);
    let prev = null;
    for (let l = 0; l < L; l++) {
      const a = new Float32Array(n * n);
      for (let h = 0; h < H; h++) for (let i = 0; i < n * n; i++) a[i] += maps[(l * H + h) * n * n + i] / H / 2;
      for (let i = 0; i < n; i++) a[i * n + i] += 0.5;
      const r = out.subarray(l * n * n, (l + 1) * n * n);
      if (!prev) r.set(a);
      else for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) r[i * n + j] += a[i * n + k] * prev[k * n + j];
      prev = r;
    }
    return out.slice((L - 1) * n * n);
  };
  const app = {
    pg,
    status(ms, what) { document.getElementById('fake-status').textContent = `${ms.toFixed(1)} ms ${what}`; },
    onBackendChange(fn) { listeners.push(fn); },
  };
  window.fake = { pg, app, calls, release: () => release(), switchBackend(b) { pg.backend = b; listeners.forEach((fn) => fn(b)); } };
}

async function openFake(harness, opts = {}) {
  const page = await harness();
  await page.route('**/models/manifest.json', (route) => route.fulfill({ json: { text: 'stand-in.bin' } }));
  await page.evaluate(installFake, opts);
  await page.evaluate(async () => {
    document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: 'css/main.css' }));
    const section = document.createElement('section');
    section.dataset.view = 'text';
    const status = document.createElement('p');
    status.id = 'fake-status';
    document.body.append(status, section);
    (await import('./js/views/text.js')).mount(section, window.fake.app);
  });
  if (!opts.holdLoad) await waitForLabels(page, CAT);
  return page;
}

export default {
  // ---------------- the real model ----------------
  async 'real model: loads, shows the tokens, the backend and the time per forward'({ open, expectBackend, assert }) {
    if (!(await hasTextApi(open))) return console.log('       SKIPPED: this pkg/ has no loadTextModel yet (the text engine branch)');
    const page = await openText(open);
    assert.equal(await page.locator('#backend').textContent(), expectBackend);
    assert.match(await page.locator('#timing').textContent(), /\d+\.\d ms per forward/);
    assert.match(await page.locator('#text-info').textContent(), new RegExp(`13 tokens · .* on ${expectBackend}`));
    await page.waitForFunction(() => document.querySelectorAll('#text-modelview button[data-layer][data-head]').length === 72);
    assert.equal(await page.locator('#text-headview').getAttribute('data-tokens'), '13');
    assert.equal(await page.locator('#text-error').textContent(), '');
    // pg.rollout through the chosen layer: rows of the rollout sum to 1 (checked via the labels
    // and a drawn canvas here; its values are the extras tests' business).
    await page.waitForFunction(() => document.getElementById('text-rollout').dataset.state === 'ready');
    await waitForLabels(page, CAT, '#text-rollout');
    const before = await pixels(page, '#text-rollout canvas');
    await page.locator('#text-layer').selectOption('5');
    await page.waitForFunction(() => document.getElementById('text-rollout').dataset.layer === '5');
    assert.notEqual((await pixels(page, '#text-rollout canvas')).hash, before.hash, 'rollout through layer 6 looks like layer 1');
  },

  async 'real model: typing updates the head view and the matrix'({ open, assert }) {
    if (!(await hasTextApi(open))) return console.log('       SKIPPED: no loadTextModel');
    const page = await openText(open);
    const head0 = await pixels(page, '#text-headview canvas');
    const matrix0 = await pixels(page, '#text-matrix canvas');
    await page.locator('#text-input').fill('');
    await page.locator('#text-input').pressSequentially('Attention is all you need!', { delay: 20 });
    await waitForLabels(page, ['[CLS]', 'attention', 'is', 'all', 'you', 'need', '!', '[SEP]']);
    await page.waitForFunction(() => document.getElementById('text-headview').dataset.tokens === '8');
    const head1 = await pixels(page, '#text-headview canvas');
    const matrix1 = await pixels(page, '#text-matrix canvas');
    assert.notEqual(head1.hash, head0.hash, 'the head view did not change');
    assert.notEqual(matrix1.hash, matrix0.hash, 'the matrix did not change');
    assert.ok(head1.ink > 0 && matrix1.ink > 0, 'blank canvas');
  },

  async 'real model: clicking a thumbnail opens that layer and head'({ open, assert }) {
    if (!(await hasTextApi(open))) return console.log('       SKIPPED: no loadTextModel');
    const page = await openText(open);
    const before = await pixels(page, '#text-matrix canvas');
    await page.locator('#text-modelview button[data-layer="3"][data-head="5"]').click();
    assert.equal(await page.locator('#text-layer').inputValue(), '3');
    assert.equal(await page.locator('#text-head-pick').inputValue(), '5');
    assert.equal(await page.locator('#text-matrix').getAttribute('data-view'), '3,5');
    assert.equal(await page.locator('#text-headview').getAttribute('data-heads'), '5');
    assert.equal(await page.locator('#text-modelview button.selected').count(), 1);
    assert.notEqual((await pixels(page, '#text-matrix canvas')).hash, before.hash);
  },

  async 'real model: runText stats give each row\'s entropy; the entropy panel shows their means'({ open, assert }) {
    if (!(await hasTextApi(open))) return console.log('       SKIPPED: no loadTextModel');
    const page = await openText(open);
    const got = await page.evaluate(async () => {
      const { pickMap, visible, meanEntropy } = await import('./js/views/text-maps.js');
      const r = window.textView.state.r, n = r.tokens.length;
      const msg = async (p) => { try { await p; return 'resolved'; } catch (e) { return String(e.message ?? e); } };
      // The engine's row entropies against −Σ p ln p of the rows it returned (f64).
      let rows = 0;
      for (let i = 0; i < r.layers * r.heads * n; i++) {
        let want = 0;
        for (let j = 0; j < n; j++) { const p = r.attention[i * n + j]; if (p > 0) want -= p * Math.log(p); }
        rows = Math.max(rows, Math.abs(r.entropy[i] - want));
      }
      // The panel: a mean per layer and head, of the engine's entropies; hidden specials: of the
      // renormalized maps on screen.
      const panel = (keep) => Array.from({ length: r.layers * r.heads }, (_, lh) => meanEntropy(pickMap(r, Math.floor(lh / r.heads), lh % r.heads, keep), keep.length));
      return {
        length: r.entropy?.length, n, rows, all: panel(visible(r.tokens, false).keep), hidden: panel(visible(r.tokens, true).keep),
        bad: await msg(window.playground.pg.runText('a', undefined, { stats: 'yes' })),
        plain: 'entropy' in (await window.playground.pg.runText('a b')),
      };
    });
    assert.equal(got.length, 6 * 12 * got.n);
    assert.ok(got.rows <= 1e-4, `row entropies off by ${got.rows}`);
    assert.equal(got.bad, "invalid input: runText: options.stats must be true or false, got 'yes'");
    assert.equal(got.plain, false, 'no entropy unless asked for');
    const shown = async () => (await page.locator('#text-entropy').getAttribute('data-entropy')).split(',').map(Number);
    const off = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
    await page.waitForFunction(() => document.getElementById('text-entropy').dataset.entropy);
    assert.ok(off(await shown(), got.all) <= 2e-4, 'entropy panel: the means of the engine\'s row entropies');
    await page.locator('#text-hide').check();
    await waitForLabels(page, CAT.slice(1, -1));
    await page.waitForFunction((want) => document.getElementById('text-entropy').dataset.entropy.split(',').every((x, i) => Math.abs(x - want[i]) <= 2e-4), got.hidden);
  },

  async 'real model: hide [CLS]/[SEP] changes the labels'({ open, assert }) {
    if (!(await hasTextApi(open))) return console.log('       SKIPPED: no loadTextModel');
    const page = await openText(open);
    await page.locator('#text-hide').check();
    await waitForLabels(page, CAT.slice(1, -1));
    assert.equal(await page.locator('#text-headview').getAttribute('data-tokens'), String(CAT.length - 2));
    await page.locator('#text-hide').uncheck();
    await waitForLabels(page, CAT);
  },

  async 'real model: a sentence pair adds [SEP] tokens'({ open, assert }) {
    if (!(await hasTextApi(open))) return console.log('       SKIPPED: no loadTextModel');
    const page = await openText(open);
    await page.locator('#text-pair').fill('It was cold.');
    await waitForLabels(page, [...CAT, 'it', 'was', 'cold', '.', '[SEP]']);
    const seps = (await labels(page, '#text-matrix')).filter((t) => t === '[SEP]').length;
    assert.equal(seps, 2);
  },

  async 'real model: garbage input shows the truncation notice and no error'({ open, mode, assert }) {
    if (!(await hasTextApi(open))) return console.log('       SKIPPED: no loadTextModel');
    // A 512-token forward on SwiftShader (a CPU emulating the GPU) takes many minutes, so the
    // WebGPU browser runs this page on its CPU path; the GPU forward at 512 is the engine's tests'.
    const page = await openText(open, mode === 'webgpu' ? '&backend=cpu' : '');
    const odd = ['naïve', '東京', '🙂🙃', 'Zalgơ̸̢', '\u200b', 'ﬁ', '١٢٣', 'straße', '<b>x</b>', '\u0000'];
    const garbage = Array.from({ length: 5000 }, (_, i) => odd[i % odd.length] + (i % 7)).join(' ');
    await page.locator('#text-input').fill(garbage);
    await page.waitForFunction(() => !document.getElementById('text-notice').hidden, null, { timeout: 300_000 });
    assert.match(await page.locator('#text-notice').textContent(), /512/);
    assert.equal(await page.locator('#text-error').textContent(), '');
    assert.equal((await labels(page, '#text-matrix')).length, 512);
    assert.equal(await page.locator('#text-matrix b').count(), 0);
  },

  // ---------------- the view logic, on the stand-in ----------------
  async 'stand-in: first paint does not wait, progress shows bytes, specials renormalize'({ harness, assert }) {
    const page = await openFake(harness, { holdLoad: true });
    // The model is still "downloading": the page is up, the box takes input, progress shows bytes.
    await page.waitForFunction(() => document.querySelector('.text-load').textContent.includes('3.0 / 4.0 MB'));
    assert.equal(await page.locator('#text-progress').evaluate((p) => [p.value, p.max].join('/')), '3000000/4000000');
    assert.equal(await page.locator('section[data-view="text"]').getAttribute('data-state'), 'loading');
    assert.equal(await page.locator('#text-input').isEditable(), true);
    await page.evaluate(() => window.fake.release());
    await waitForLabels(page, CAT);
    assert.match(await page.locator('#fake-status').textContent(), /ms per forward/);
    assert.equal(await page.locator('.text-load').isHidden(), true);
    // Hide [CLS]/[SEP]: the matrix rows are the kept columns of the full map, renormalized.
    await page.locator('#text-hide').check();
    await waitForLabels(page, CAT.slice(1, -1));
    const check = await page.evaluate(async () => {
      const { pickMap, visible } = await import('./js/views/text-maps.js');
      const r = window.textView.state.r;
      const { keep } = visible(r.tokens, true);
      const m = keep.length, n = r.tokens.length, map = pickMap(r, 0, 'mean', keep);
      let worst = 0;
      for (let a = 0; a < m; a++) {
        let full = 0, sum = 0;
        for (const b of keep) for (let h = 0; h < r.heads; h++) full += r.attention[(h * n + keep[a]) * n + b];
        for (let b = 0; b < m; b++) {
          let want = 0;
          for (let h = 0; h < r.heads; h++) want += r.attention[(h * n + keep[a]) * n + keep[b]];
          worst = Math.max(worst, Math.abs(map[a * m + b] - want / full));
          sum += map[a * m + b];
        }
        worst = Math.max(worst, Math.abs(sum - 1));
      }
      return worst;
    });
    assert.ok(check < 1e-6, `renormalized rows off by ${check}`);
  },

  async 'stand-in: only the latest request renders'({ harness, assert }) {
    const page = await openFake(harness, { delayMs: 400 });
    const before = await updates(page);
    await page.locator('#text-input').fill('first words');
    await page.waitForTimeout(250); // the first forward is now in flight
    await page.locator('#text-input').fill('second words here');
    await waitForLabels(page, ['[CLS]', 'second', 'words', 'here', '[SEP]']);
    await page.waitForTimeout(600);
    const calls = await page.evaluate(() => window.fake.calls.map((c) => c[0]));
    assert.ok(calls.includes('first words'), `the first request never ran: ${calls}`);
    assert.equal(await updates(page), before + 1, 'a stale result was rendered');
    assert.deepEqual(await labels(page, '#text-matrix'), ['[CLS]', 'second', 'words', 'here', '[SEP]']);
  },

  async 'stand-in: an error is shown inline and the previous result stays'({ harness, assert }) {
    const page = await openFake(harness);
    await page.locator('#text-input').fill('boom goes the text');
    await page.waitForFunction(() => document.getElementById('text-error').textContent.includes('boom'));
    assert.deepEqual(await labels(page, '#text-matrix'), CAT);
    await page.locator('#text-input').fill('fine again');
    await waitForLabels(page, ['[CLS]', 'fine', 'again', '[SEP]']);
    assert.equal(await page.locator('#text-error').textContent(), '');
  },

  async 'stand-in: empty text with [CLS]/[SEP] hidden leaves empty panels, no error'({ harness, assert }) {
    const page = await openFake(harness, { withRollout: true });
    await page.locator('#text-hide').check();
    await page.locator('#text-input').fill('');
    await waitForLabels(page, []);
    await page.waitForFunction(() => document.getElementById('text-headview').dataset.tokens === '0');
    await page.waitForFunction(() => document.getElementById('text-rollout').dataset.state === 'ready');
    assert.equal(await page.locator('#text-error').textContent(), '');
    await page.locator('#text-hide').uncheck();
    await waitForLabels(page, ['[CLS]', '[SEP]']);
  },

  async 'stand-in: rollout is disabled without pg.rollout, drawn with it'({ harness, assert }) {
    let page = await openFake(harness);
    assert.equal(await page.locator('#text-rollout').getAttribute('data-state'), 'unavailable');
    assert.match(await page.locator('#text-rollout').textContent(), /needs pg\.rollout/);
    assert.equal(await page.locator('#text-rollout select').isDisabled(), true);

    page = await openFake(harness, { withRollout: true });
    await page.waitForFunction(() => document.getElementById('text-rollout').dataset.state === 'ready');
    await waitForLabels(page, CAT, '#text-rollout');
    const first = await pixels(page, '#text-rollout canvas');
    await page.locator('#text-layer').selectOption('5');
    await page.waitForFunction(() => document.getElementById('text-rollout').dataset.layer === '5');
    assert.match(await page.locator('#text-rollout').textContent(), /through layer 6/);
    assert.notEqual((await pixels(page, '#text-rollout canvas')).hash, first.hash);
    // An option the backend rejects: the message shows in the panel, nothing throws.
    await page.locator('#text-rollout select').selectOption('max');
    await page.waitForFunction(() => document.getElementById('text-rollout').dataset.state === 'error');
    assert.match(await page.locator('#text-rollout').textContent(), /rollout failed: .*only does mean/);
  },

  async 'stand-in: a backend change keeps the text and the view'({ harness, assert }) {
    const page = await openFake(harness);
    await page.locator('#text-modelview button[data-layer="2"][data-head="7"]').click();
    await page.locator('#text-hide').check();
    const before = await updates(page);
    await page.evaluate(() => window.fake.switchBackend('webgpu'));
    await page.waitForFunction((b) => Number(document.querySelector('section[data-view="text"]').dataset.updates) > b, before);
    assert.equal(await page.locator('#text-input').inputValue(), 'The cat sat on the mat because it was warm.');
    assert.equal(await page.locator('#text-matrix').getAttribute('data-view'), '2,7');
    assert.equal(await page.locator('#text-hide').isChecked(), true);
    assert.deepEqual(await labels(page, '#text-matrix'), CAT.slice(1, -1));
    assert.match(await page.locator('#text-info').textContent(), /on webgpu/);
  },

  async 'stand-in: the model view draws every map on one canvas, under the button that opens it'({ harness, assert }) {
    const page = await openFake(harness);
    await page.waitForFunction(() => Number(document.querySelector('section[data-view="text"]').dataset.painted) > 0);
    assert.equal(await page.locator('#text-modelview canvas').count(), 1);
    assert.equal(await page.locator('#text-modelview button[data-layer][data-head]').count(), 72);
    // Each thumbnail's cell (i, j), read back at its centre under its button, is ramp(map[i][j]).
    const worst = await page.evaluate(async () => {
      const { ramp } = await import('./js/util.js');
      const { maps, side } = window.textView.model.json();
      const c = document.querySelector('#text-modelview canvas'), box = c.getBoundingClientRect();
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, s = c.width / box.width;
      let worst = 0;
      for (const [l, h] of [[0, 0], [2, 7], [5, 11]]) {
        const b = document.querySelector(`#text-modelview button[data-layer="${l}"][data-head="${h}"]`).getBoundingClientRect();
        for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) {
          const x = Math.floor((b.left - box.left + ((j + 0.5) * b.width) / side) * s), y = Math.floor((b.top - box.top + ((i + 0.5) * b.height) / side) * s);
          const want = ramp(maps[l][h][i * side + j]), at = 4 * (y * c.width + x);
          for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(px[at + k] - want[k]));
          worst = Math.max(worst, 255 - px[at + 3]);
        }
      }
      return worst;
    });
    assert.ok(worst <= 1, `a thumbnail's pixel is off its map's colour by ${worst}`);
    // A click on a button opens its layer and head; Enter on a focused one does too.
    await page.locator('#text-modelview button[data-layer="4"][data-head="1"]').click();
    assert.equal(await page.locator('#text-matrix').getAttribute('data-view'), '4,1');
    assert.equal(await page.locator('#text-modelview button[aria-pressed="true"]').count(), 1);
    await page.locator('#text-modelview button[data-layer="4"][data-head="1"]').press('ArrowRight');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#text-matrix').getAttribute('data-view'), '4,2');
  },

  async 'stand-in: hovering a token focuses its lines'({ harness, assert }) {
    const page = await openFake(harness);
    const all = await pixels(page, '#text-headview canvas');
    const box = await page.locator('#text-headview canvas').boundingBox();
    await page.mouse.move(box.x + 60, box.y + 4 + 2 * 18 + 9); // left column, token 2 ("cat")
    await page.waitForFunction(() => document.getElementById('text-headview').dataset.focus === 'q2');
    const focused = await pixels(page, '#text-headview canvas');
    assert.notEqual(focused.hash, all.hash);
    await page.mouse.move(box.x + box.width + 50, box.y);
    await page.waitForFunction(() => document.getElementById('text-headview').dataset.focus === '');
  },
};
