// Live typing and clicking on the page (issue 16), with the engine in its Worker and, to compare,
// on the main thread (?worker=0). Run with WebGPU off (the Makefile target does): the CPU path.
//
// Text tab: prefill a sentence of N tokens less its last ~40 characters, then type those at
// KEY_MS (default 60 ms) per key. For each keystroke: the time from its input event to the end of
// the first redraw of every panel after it (head view and matrix in the next frame, the
// thumbnails and entropy in the same task when they fit its time slice, else in the tasks after
// it (data-painted), the rollout panel when its pg.rollout returns). Attention tab: the same with
// its heatmap. Image tab: clicks on 40 patches of the overlay, click → caption and overlay redrawn.
// Also the longest main-thread task in the window (PerformanceObserver 'longtask': only tasks
// ≥ 50 ms are reported, so "none" means every task was shorter). On a shared machine wall time
// mixes the page's work with waiting for a core, so a DevTools trace of the same window gives
// CPU time too: the main thread's per event and its longest task's, and the worker's per event.
//
//   ENGINES=worker,main  VIEWS=text,attention,image  TOKENS=16,32,128  KEY_MS=60
import { loadavg } from 'node:os';

const KEY_MS = Number(process.env.KEY_MS ?? 60);
const LENGTHS = (process.env.TOKENS ?? '16,32,128').split(',').map(Number);
const ENGINES = (process.env.ENGINES ?? 'worker,main').split(',');
const VIEWS = (process.env.VIEWS ?? 'text,attention,image').split(',');
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

/** Starts a DevTools trace of the page's threads; `stop()` → CPU ms (thread time) of their tasks. */
async function trace(page) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (d) => events.push(...d.value));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline'] } });
  return async () => {
    const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    await cdp.send('Tracing.end');
    await done;
    await cdp.detach();
    const names = new Map(events.filter((e) => e.name === 'thread_name').map((e) => [`${e.pid}:${e.tid}`, e.args.name]));
    const cpu = (thread) => events.filter((e) => e.ph === 'X' && e.name === 'RunTask' && names.get(`${e.pid}:${e.tid}`)?.startsWith(thread))
      .map((e) => (e.tdur ?? 0) / 1000);
    const main = cpu('CrRendererMain'), worker = cpu('DedicatedWorker');
    const sum = (xs) => xs.reduce((a, b) => a + b, 0);
    return { main: sum(main), mainLongest: Math.max(0, ...main), worker: sum(worker) };
  };
}

/** One row of the table. */
function row(view, engine, tokens, events, { out, longest, longCount }, cpu) {
  const f = (x) => +x.toFixed(1);
  return {
    view, engine, tokens, events, 'median ms': f(quantile(out, 0.5)), 'p95 ms': f(quantile(out, 0.95)),
    'longest task ms': longest ? Math.round(longest) : '< 50', 'tasks ≥ 50 ms': longCount,
    'main CPU ms/event': f(cpu.main / events), 'longest task CPU ms': Math.round(cpu.mainLongest), 'worker CPU ms/event': f(cpu.worker / events),
  };
}

const reset = (page) => page.evaluate(() => Object.assign(window.__bench, { events: [], redraws: window.__bench.redraws.map(() => []), longs: [] }));

async function settle(page, ms = 1500) {
  // quiet: no new redraw for `ms`
  await page.waitForFunction((ms) => {
    const b = window.__bench, last = Math.max(0, ...(b?.redraws.flat() ?? [0]));
    return performance.now() - last > ms;
  }, ms, { polling: 100 });
}

async function textTab(open, q, engine, record, log) {
  const page = await open(`index.html?view=text&${q}`);
  await page.waitForFunction(() => document.querySelector('section[data-view="text"]')?.dataset.state === 'ready', null, { timeout: 600_000 });
  await page.evaluate(instrument, { root: 'section[data-view="text"]', marks: [[':scope', 'data-updates'], [':scope', 'data-painted'], ['#text-rollout', 'data-state']] });
  const shows = (t) => page.waitForFunction((t) => document.querySelector('section[data-view="text"]').dataset.text === t, t);
  for (const n of LENGTHS) {
    const text = sentence(n - 2);
    await page.locator('#text-input').fill(text.slice(0, -TYPED));
    await shows(text.slice(0, -TYPED));
    await settle(page);
    await reset(page);
    const stop = await trace(page);
    await page.locator('#text-input').pressSequentially(text.slice(-TYPED), { delay: KEY_MS });
    await shows(text);
    await settle(page);
    await page.waitForFunction(() => document.getElementById('text-rollout').dataset.state === 'ready');
    const cpu = await stop();
    const tokens = Number(await page.locator('#text-headview').getAttribute('data-tokens'));
    const r = row('text', engine, tokens, TYPED, latencies(await page.evaluate(() => window.__bench)), cpu);
    record(r);
    log(`text ${engine} ${tokens} tokens: median ${r['median ms']} ms, p95 ${r['p95 ms']} ms, longest task ${r['longest task ms']} ms (CPU ${r['longest task CPU ms']} ms)`);
  }
  await page.close();
}

async function attentionTab(open, q, engine, record) {
  const page = await open(`index.html?view=attention&${q}`);
  await page.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '11');
  await page.evaluate(instrument, { root: 'section[data-view="attention"]', marks: [[':scope', 'data-updates']] });
  for (const n of LENGTHS) {
    const text = sentence(n);
    await page.locator('#text').fill(text.slice(0, -TYPED));
    await settle(page);
    await reset(page);
    const stop = await trace(page);
    await page.locator('#text').pressSequentially(text.slice(-TYPED), { delay: KEY_MS });
    await page.waitForFunction((n) => document.getElementById('heatmap').dataset.tokens === String(n), n);
    await settle(page);
    record(row('attention', engine, n, TYPED, latencies(await page.evaluate(() => window.__bench)), await stop()));
  }
  await page.close();
}

async function imagePatches(open, q, engine, record) {
  const page = await open(`index.html?view=image&${q}`);
  await page.waitForFunction(() => window.imageView?.state.result, null, { timeout: 600_000 });
  await page.evaluate(instrument, { root: 'section[data-view="image"]', marks: [['.image-panels figcaption', null]] });
  await settle(page, 300);
  await reset(page);
  const stop = await trace(page);
  const box = await page.locator('canvas.image-overlay').boundingBox();
  const CLICKS = 40;
  for (let i = 0; i < CLICKS; i++) {
    await page.mouse.click(box.x + box.width * ((i * 7 % 16) + 0.5) / 16, box.y + box.height * ((i * 3 % 16) + 0.5) / 16);
    await page.waitForTimeout(KEY_MS);
  }
  await settle(page, 300);
  const tokens = await page.evaluate(() => window.imageView.state.result.tokens);
  record(row('image patch click', engine, tokens, CLICKS, latencies(await page.evaluate(() => window.__bench)), await stop()));
  await page.close();
}

export default {
  name: 'typing-browser',
  async run({ open, webgpu, log, record }) {
    if (webgpu) log('note: WebGPU is on; the issue asks for the CPU path (WEBGPU=0, as `make bench-typing-browser` runs)');
    log(`load average at the start: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    for (const engine of ENGINES) {
      const q = `backend=cpu${engine === 'main' ? '&worker=0' : ''}`;
      if (VIEWS.includes('text')) await textTab(open, q, engine, record, log);
      if (VIEWS.includes('attention')) await attentionTab(open, q, engine, record);
      if (VIEWS.includes('image')) await imagePatches(open, q, engine, record);
    }
    log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  },
};
