// Issue 17, "everyone" and "phones": every tab of the page, whatever views it holds (the tests
// iterate over the tab list and over every interactive element, so views added later are covered):
// - axe-core (injected from node_modules) finds no WCAG 2.0/2.1/2.2 A and AA violations;
// - on a 390 × 844 touch phone no tab is wider than the screen and every target is ≥ 44 × 44 px
//   (a checkbox's target is its label);
// - keyboard only: Tab reaches every control and view (roving groups: their one Tab stop, then
//   arrow keys), every focusable map announces a cell in a polite live region, and the attention
//   matrix announces exactly "row → column: weight" with the weight it drew;
// - the tab list follows the ARIA tabs pattern;
// - the head palette stays distinguishable under colour-vision deficiency (see palette.js).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { HEAD_COLORS, textOn } from '../../www/js/palette.js';
import { parse, contrast, closestPair } from './colour-vision.mjs';

/** axe-core's source, to inject into the page (a devDependency: scripts/setup.sh installs it). */
function axeSource() {
  try {
    return readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  } catch {
    throw new Error('axe-core is not installed: run scripts/setup.sh (npm ci)');
  }
}
const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 };
const MIN_TARGET = 44;
// Tests that visit every tab run the page on the CPU in both browsers: what they check does not
// depend on the backend, and a DINOv2 forward on SwiftShader takes minutes.
const EVERY_TAB = 'index.html?backend=cpu';
const MIN_DELTA_E = 12; // CIEDE2000, between any two head colours, each vision
const INTERACTIVE = 'button, a[href], input, select, textarea, summary, [tabindex], [role="button"], [role="tab"]';

/** Resolves once the page's DOM has not changed for `quietMs` (views still drawing), at most `maxMs`. */
function settle(page, quietMs = 700, maxMs = 120_000) {
  return page.evaluate(([quietMs, maxMs]) => new Promise((resolve) => {
    const start = performance.now();
    const done = () => (mo.disconnect(), resolve());
    let timer = setTimeout(done, quietMs);
    const mo = new MutationObserver(() => {
      clearTimeout(timer);
      timer = setTimeout(done, performance.now() - start > maxMs ? 0 : quietMs);
    });
    mo.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  }), [quietMs, maxMs]);
}

/** Opens every tab of the page in turn (by clicking it), waits for it to be drawn, runs `fn(id)`. */
async function eachTab(page, fn) {
  await page.waitForFunction(() => document.querySelectorAll('#tabs [role="tab"]').length > 0);
  const ids = await page.$$eval('#tabs [role="tab"]', (tabs) => tabs.map((t) => t.dataset.view));
  for (const id of ids) {
    await page.click(`#tabs [data-view="${id}"]`);
    await page.waitForFunction((id) => window.playground?.viewId === id, id);
    await page.evaluate(() => window.playground.view?.loaded);
    await settle(page);
    await fn(id);
  }
  return ids;
}

/** The visible interactive elements of the open tab (and the header/tab bar), described. */
function targets(page) {
  return page.evaluate((sel) => {
    const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
    const section = document.querySelector('main > section:not([hidden])');
    return [...document.querySelectorAll(sel)]
      .filter((e) => shown(e) && (section.contains(e) || !e.closest('main')) && !e.disabled && e.type !== 'hidden')
      .map((e) => {
        // A checkbox or radio is hit through its whole label.
        const hit = (e.type === 'checkbox' || e.type === 'radio') ? (e.closest('label') ?? e.labels?.[0] ?? e) : e;
        const r = hit.getBoundingClientRect();
        return { what: `${e.tagName.toLowerCase()}${e.name ? `[name=${e.name}]` : ''} "${(e.getAttribute('aria-label') ?? e.textContent ?? '').trim().slice(0, 30)}"`, w: r.width, h: r.height };
      });
  }, INTERACTIVE);
}

export default {
  'palette: the 12 head colours stay apart under protanopia, deuteranopia and tritanopia'({ assert }) {
    const colours = HEAD_COLORS.map(parse);
    assert.equal(colours.length, 12);
    for (const kind of ['normal', 'protanopia', 'deuteranopia', 'tritanopia']) {
      const { dE, pair } = closestPair(colours, kind);
      assert.ok(dE >= MIN_DELTA_E, `${kind}: heads ${pair.map((i) => i + 1).join(' and ')} differ by CIEDE2000 ${dE.toFixed(2)} < ${MIN_DELTA_E}`);
    }
    colours.forEach((c, h) => {
      // Lines and bars against the page (WCAG 1.4.11, 3:1); the toggle's number on its colour (1.4.3, 4.5:1).
      assert.ok(contrast(c, parse('#fbfbfa')) >= 3, `head ${h + 1} on the page: ${contrast(c, parse('#fbfbfa')).toFixed(2)}:1`);
      const on = textOn(h, 12) === '#fff' ? [255, 255, 255] : [0, 0, 0];
      assert.ok(contrast(c, on) >= 4.5, `head ${h + 1}'s number: ${contrast(c, on).toFixed(2)}:1`);
    });
  },

  async 'axe-core: no WCAG 2.x A/AA violations on any tab (laptop, phone, dark)'({ open, assert }) {
    const AXE = axeSource();
    for (const context of [{ viewport: { width: 1366, height: 768 } }, PHONE, { viewport: { width: 1366, height: 768 }, colorScheme: 'dark' }]) {
      const page = await open(EVERY_TAB, context);
      const found = [];
      await eachTab(page, async (id) => {
        await page.$$eval('details', (ds) => ds.forEach((d) => (d.open = true))); // check what they hold too
        await page.addScriptTag({ content: AXE });
        const violations = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }).then((r) => r.violations), WCAG_AA);
        for (const v of violations) found.push(`[${context.viewport.width} px${context.colorScheme ? `, ${context.colorScheme}` : ''}, ${id}] ${v.id}: ${v.help} — ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
        await page.$$eval('details', (ds) => ds.forEach((d) => (d.open = false)));
      });
      assert.deepEqual(found, []);
      await page.close();
    }
  },

  async 'phone 390 × 844 (touch): no tab scrolls sideways (nor at 360 and 430); every target is at least 44 × 44 px'({ open, assert }) {
    const page = await open(EVERY_TAB, PHONE);
    const problems = [];
    let checked = 0;
    const tabs = await eachTab(page, async (id) => {
      await page.$$eval('details', (ds) => ds.forEach((d) => (d.open = true)));
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 390) problems.push(`${id}: the page is ${width} px wide`);
      for (const t of await targets(page)) {
        checked++;
        if (t.w < MIN_TARGET - 0.5 || t.h < MIN_TARGET - 0.5) problems.push(`${id}: ${t.what} is ${t.w.toFixed(0)} × ${t.h.toFixed(0)} px`);
      }
      await page.$$eval('details', (ds) => ds.forEach((d) => (d.open = false)));
    });
    assert.ok(tabs.length >= 4 && checked > 50, `${tabs.length} tabs, ${checked} targets`);
    // The narrowest and widest common phones: no sideways scrolling either.
    for (const width of [360, 430]) {
      const narrow = await open(EVERY_TAB, { ...PHONE, viewport: { width, height: 800 } });
      await eachTab(narrow, async (id) => {
        const w = await narrow.evaluate(() => document.documentElement.scrollWidth);
        if (w > width) problems.push(`${id} at ${width} px: the page is ${w} px wide`);
      });
      await narrow.close();
    }
    assert.deepEqual(problems, []);
  },

  async 'phone: a long input keeps the matrix labels readable (no two shown labels overlap)'({ open, assert }) {
    const page = await open('index.html', PHONE);
    await page.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '11');
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    await page.fill('#text', words);
    await page.waitForFunction(() => document.getElementById('heatmap').dataset.tokens === '60');
    const clashes = await page.evaluate(() => ['rows', 'cols'].flatMap((axis) => {
      const shown = [...document.querySelectorAll(`#heatmap .${axis} span`)].filter((s) => getComputedStyle(s).visibility !== 'hidden');
      const boxes = shown.map((s) => {
        // The text's own box (a range), not the span's cell-sized one.
        const r = document.createRange();
        r.selectNodeContents(s);
        return r.getBoundingClientRect();
      });
      return boxes.slice(1).flatMap((b, i) => {
        const a = boxes[i];
        const overlap = axis === 'rows' ? b.top < a.bottom - 0.5 : b.left < a.right - 0.5;
        return overlap ? [`${axis}: ${shown[i].textContent} / ${shown[i + 1].textContent}`] : [];
      }).concat(shown.length < 5 ? [`${axis}: only ${shown.length} labels shown`] : []);
    }));
    assert.deepEqual(clashes, []);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390));
  },

  async 'keyboard: the tab list is an ARIA tablist; arrows and Home/End move and open tabs'({ open, assert }) {
    const page = await open('index.html');
    await page.waitForFunction(() => window.playground?.viewId === 'attention');
    const tabs = await page.$$eval('#tabs [role="tab"]', (ts) => ts.map((t) => {
      const panel = document.getElementById(t.getAttribute('aria-controls'));
      return { id: t.dataset.view, selected: t.getAttribute('aria-selected'), tabIndex: t.tabIndex, panelRole: panel?.getAttribute('role'), labelledBy: panel?.getAttribute('aria-labelledby') === t.id };
    }));
    for (const t of tabs) {
      assert.equal(t.panelRole, 'tabpanel', `${t.id}: its panel`);
      assert.ok(t.labelledBy, `${t.id}: the panel is labelled by its tab`);
      assert.equal(t.tabIndex, t.selected === 'true' ? 0 : -1, `${t.id}: one Tab stop, the selected tab`);
    }
    await page.focus('#tabs [aria-selected="true"]');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((id) => window.playground.viewId === id, tabs[1].id);
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-selected')), 'true');
    await page.keyboard.press('End');
    await page.waitForFunction((id) => window.playground.viewId === id, tabs.at(-1).id);
    await page.keyboard.press('Home');
    await page.waitForFunction((id) => window.playground.viewId === id, tabs[0].id);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.view), tabs[0].id);
  },

  async 'keyboard: Tab and arrows reach every control and view; every map announces its cells'({ open, assert }) {
    const page = await open(EVERY_TAB);
    const problems = [];
    await eachTab(page, async (id) => {
      // Walk the Tab order from this tab's button through its panel, marking what gets focus.
      await page.focus(`#tabs [data-view="${id}"]`);
      const count = await page.$$eval(INTERACTIVE, (es) => es.length);
      for (let i = 0; i < count + 10; i++) {
        await page.keyboard.press('Tab');
        const where = await page.evaluate(() => {
          const a = document.activeElement;
          if (!a || a === document.body) return 'out';
          a.dataset.kbSeen = '1';
          return a.closest('main > section') ? 'in' : 'out';
        });
        if (where === 'out' && i > 0) break;
      }
      // Roving groups (thumbnail grids): their one Tab stop was reached, and arrows move within them.
      const groups = await page.$$eval('main > section:not([hidden]) [tabindex="-1"]', (es, id) => [...new Set(es.map((e) => e.parentElement))]
        .filter((p) => p.getClientRects().length).map((p, i) => (p.dataset.kbGroup = `${id}-${i}`)), id);
      for (const g of groups) {
        const stop = `[data-kb-group="${g}"] > [tabindex="0"]`;
        if (!(await page.$(`${stop}[data-kb-seen]`))) continue; // reported below as unreached
        await page.focus(stop);
        const before = await page.evaluateHandle(() => document.activeElement);
        await page.keyboard.press('ArrowRight');
        const moved = await page.evaluate((b) => document.activeElement !== b && document.activeElement.parentElement === b.parentElement, before);
        if (moved) await page.$$eval(`[data-kb-group="${g}"] > *`, (es) => es.forEach((e) => (e.dataset.kbSeen = '1')));
        else problems.push(`${id}: arrow keys do not move within group ${g}`);
      }
      const missed = await page.$$eval(`main > section:not([hidden]) :is(${INTERACTIVE})`, (es) => es
        .filter((e) => e.getClientRects().length && !e.disabled && !e.dataset.kbSeen && getComputedStyle(e).visibility !== 'hidden' && !e.closest('details:not([open]) > :not(summary)'))
        .map((e) => `${e.tagName.toLowerCase()}${e.name ? `[name=${e.name}]` : ''} ${e.getAttribute('aria-label') ?? e.textContent.trim().slice(0, 30)}`));
      for (const m of missed) problems.push(`${id}: Tab never reaches ${m}`);
      // Every canvas is a focusable view, or a chart whose numbers the card's readout states, or
      // the picture under a roving group of buttons (hidden from screen readers; the buttons are it).
      const mute = await page.$$eval('main > section:not([hidden]) canvas', (cs) => cs
        .filter((c) => c.getClientRects().length && c.tabIndex < 0 && !c.closest('[tabindex="0"]') && !c.classList.contains('plot') && c.getAttribute('role') !== 'button'
          && !(c.getAttribute('aria-hidden') === 'true' && c.parentElement.querySelector(':scope > [tabindex="0"]')))
        .map((c) => c.className || c.parentElement.className));
      for (const m of mute) problems.push(`${id}: a canvas (${m}) cannot be focused`);
      // Every focusable map says what its cell holds in a polite live region when an arrow moves.
      const maps = await page.$$eval('main > section:not([hidden]) [role="application"]', (ms, id) => ms.filter((m) => m.getClientRects().length)
        .map((m, i) => (m.dataset.kbMap = `${id}-${i}`)), id);
      for (const m of maps) {
        const sel = `[data-kb-map="${m}"]`;
        await page.focus(sel);
        await page.keyboard.press('ArrowDown');
        const said = await page.evaluate((sel) => {
          const map = document.querySelector(sel);
          // The nearest polite live region after the map.
          const lives = [...map.closest('section').querySelectorAll('[aria-live="polite"]')];
          const after = lives.find((l) => map.compareDocumentPosition(l) & Node.DOCUMENT_POSITION_FOLLOWING);
          return { name: map.getAttribute('aria-label') ?? '', text: after?.textContent ?? '' };
        }, sel);
        if (!said.name) problems.push(`${id}: map ${m} has no accessible name`);
        if (!/\S/.test(said.text)) problems.push(`${id}: map ${m} (${said.name}) announces nothing`);
        await page.keyboard.press('Escape');
      }
    });
    assert.deepEqual(problems, []);
  },

  async 'keyboard: a matrix cell is announced as "row → column: weight", the weight it drew'({ open, assert }) {
    const page = await open('index.html');
    await page.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '11');
    await page.focus('#heatmap canvas');
    for (const key of ['ArrowDown', 'ArrowRight', 'ArrowRight', 'End', 'ArrowLeft']) await page.keyboard.press(key);
    const { said, live, json } = await page.evaluate(() => {
      const out = document.querySelector('#heatmap [aria-live="polite"]');
      return { said: out.textContent, live: out.getAttribute('aria-live'), json: window.playground.view.exporters['attention-matrix'].json() };
    });
    assert.equal(live, 'polite');
    // Row 1 ("cat"), column 9 ("warm"): End goes to the row's last column (".") and Left one back.
    assert.equal(said, `${json.rows[1]} → ${json.cols[9]}: ${json.weights[1][9].toFixed(3)}`);
    assert.equal(said.split(':')[0], 'cat → warm');
  },
};
