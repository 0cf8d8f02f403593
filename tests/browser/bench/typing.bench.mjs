// Live typing and clicking on the page (issue 16), with the engine in its Worker and, to compare,
// on the main thread (?worker=0). Run with WebGPU off (the Makefile target does): the CPU path.
//
// Text tab: prefill a sentence of N tokens less its last ~40 characters, then type those at
// KEY_MS (default 60 ms) per key. For each keystroke: the time from its input event to the end of
// the first redraw of every panel after it (head view and matrix in the next frame, then the
// thumbnails and entropy one task each (data-painted), the rollout panel when its pg.rollout returns). Attention tab: the same with its
// heatmap. Image tab: clicks on 40 patches of the overlay, click → caption and overlay redrawn.
// Also the longest main-thread task in the window (PerformanceObserver 'longtask': only tasks
// ≥ 50 ms are reported, so "none" means every task was shorter).
const KEY_MS = Number(process.env.KEY_MS ?? 60);
const LENGTHS = (process.env.TOKENS ?? '16,32,128').split(',').map(Number);
const TYPED = 40;
const WORDS = 'the cat sat on a mat because it was warm and then every dog in this old town ran to see what all that noise was about'.split(' ');
const sentence = (words) => Array.from({ length: words }, (_, i) => WORDS[i % WORDS.length]).join(' ');

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

/** In the page: records input/click times, the redraws of `marks` (selector → attribute), long tasks. */
function instrument({ root, marks }) {
  const b = (window.__bench = { events: [], redraws: marks.map(() => []), longs: [] });
  new PerformanceObserver((l) => l.getEntries().forEach((e) => b.longs.push({ start: e.startTime, ms: e.duration }))).observe({ type: 'longtask' });
  for (const type of ['input', 'click']) document.addEventListener(type, () => b.events.push(performance.now()), true);
  marks.forEach(([sel, attr], i) => {
    const node = sel === ':scope' ? document.querySelector(root) : document.querySelector(`${root} ${sel}`);
    const what = attr ? { attributeFilter: [attr] } : { characterData: true, childList: true, subtree: true };
    new MutationObserver(() => b.redraws[i].push(performance.now())).observe(node, what);
  });
}

/** Latency per event: until every mark has fired at least once after the event's first mark. */
function latencies({ events, redraws, longs }) {
  const out = [];
  for (const t of events) {
    const first = redraws[0].find((r) => r >= t);
    if (first === undefined) continue;
    const all = Math.max(first, ...redraws.slice(1).map((rs) => rs.find((r) => r >= first) ?? Infinity));
    if (Number.isFinite(all)) out.push(all - t);
  }
  const from = events[0], to = Math.max(...redraws.flat());
  const inWindow = longs.filter((l) => l.start + l.ms >= from && l.start <= to);
  return { out, longest: Math.max(0, ...inWindow.map((l) => l.ms)), longCount: inWindow.length };
}

async function settle(page, ms = 1500) {
  // quiet: no new redraw for `ms`
  await page.waitForFunction((ms) => {
    const b = window.__bench, last = Math.max(0, ...(b?.redraws.flat() ?? [0]));
    return performance.now() - last > ms;
  }, ms, { polling: 100 });
}

export default {
  name: 'typing-browser',
  async run({ open, webgpu, log, record }) {
    if (webgpu) log('note: WebGPU is on; the issue asks for the CPU path (WEBGPU=0, as `make bench-typing-browser` runs)');
    for (const thread of ['worker', 'main']) {
      const q = `backend=cpu${thread === 'main' ? '&worker=0' : ''}`;
      // ---- text tab ----
      let page = await open(`index.html?view=text&${q}`);
      await page.waitForFunction(() => document.querySelector('section[data-view="text"]')?.dataset.state === 'ready', null, { timeout: 600_000 });
      await page.evaluate(instrument, { root: 'section[data-view="text"]', marks: [[':scope', 'data-updates'], [':scope', 'data-painted'], ['#text-rollout', 'data-state']] });
      for (const n of LENGTHS) {
        const text = sentence(n - 2);
        await page.locator('#text-input').fill(text.slice(0, -TYPED));
        await page.waitForFunction((t) => document.querySelector('section[data-view="text"]').dataset.text === t, text.slice(0, -TYPED));
        await settle(page);
        await page.evaluate(() => Object.assign(window.__bench, { events: [], redraws: window.__bench.redraws.map(() => []), longs: [] }));
        await page.locator('#text-input').pressSequentially(text.slice(-TYPED), { delay: KEY_MS });
        await page.waitForFunction((t) => document.querySelector('section[data-view="text"]').dataset.text === t, text);
        await settle(page);
        await page.waitForFunction(() => document.getElementById('text-rollout').dataset.state === 'ready');
        const tokens = Number(await page.locator('#text-headview').getAttribute('data-tokens'));
        const { out, longest, longCount } = latencies(await page.evaluate(() => window.__bench));
        record({ view: 'text', engine: thread, tokens, keys: TYPED, 'median ms': +quantile(out, 0.5).toFixed(1), 'p95 ms': +quantile(out, 0.95).toFixed(1), 'longest task ms': longest ? +longest.toFixed(0) : '< 50', 'tasks ≥ 50 ms': longCount });
        log(`text ${thread} ${tokens} tokens: median ${quantile(out, 0.5).toFixed(1)} ms, p95 ${quantile(out, 0.95).toFixed(1)} ms, longest task ${longest ? longest.toFixed(0) : '< 50'} ms`);
      }
      await page.close();
      // ---- attention tab ----
      page = await open(`index.html?view=attention&${q}`);
      await page.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '11');
      await page.evaluate(instrument, { root: 'section[data-view="attention"]', marks: [[':scope', 'data-updates']] });
      for (const n of LENGTHS) {
        const text = sentence(n);
        await page.locator('#text').fill(text.slice(0, -TYPED));
        await settle(page);
        await page.evaluate(() => Object.assign(window.__bench, { events: [], redraws: window.__bench.redraws.map(() => []), longs: [] }));
        await page.locator('#text').pressSequentially(text.slice(-TYPED), { delay: KEY_MS });
        await page.waitForFunction((n) => document.getElementById('heatmap').dataset.tokens === String(n), n);
        await settle(page);
        const { out, longest, longCount } = latencies(await page.evaluate(() => window.__bench));
        record({ view: 'attention', engine: thread, tokens: n, keys: TYPED, 'median ms': +quantile(out, 0.5).toFixed(1), 'p95 ms': +quantile(out, 0.95).toFixed(1), 'longest task ms': longest ? +longest.toFixed(0) : '< 50', 'tasks ≥ 50 ms': longCount });
      }
      await page.close();
      // ---- image overlay: patch clicks ----
      page = await open(`index.html?view=image&${q}`);
      await page.waitForFunction(() => window.imageView?.state.result, null, { timeout: 600_000 });
      await page.evaluate(instrument, { root: 'section[data-view="image"]', marks: [['.image-panels figcaption', null]] });
      await settle(page, 300);
      await page.evaluate(() => Object.assign(window.__bench, { events: [], redraws: window.__bench.redraws.map(() => []), longs: [] }));
      const box = await page.locator('canvas.image-overlay').boundingBox();
      for (let i = 0; i < 40; i++) {
        await page.mouse.click(box.x + box.width * ((i * 7 % 16) + 0.5) / 16, box.y + box.height * ((i * 3 % 16) + 0.5) / 16);
        await page.waitForTimeout(KEY_MS);
      }
      await settle(page, 300);
      const { out, longest, longCount } = latencies(await page.evaluate(() => window.__bench));
      record({ view: 'image patch click', engine: thread, tokens: await page.evaluate(() => window.imageView.state.result.tokens), keys: 40, 'median ms': +quantile(out, 0.5).toFixed(1), 'p95 ms': +quantile(out, 0.95).toFixed(1), 'longest task ms': longest ? +longest.toFixed(0) : '< 50', 'tasks ≥ 50 ms': longCount });
      await page.close();
    }
  },
};
