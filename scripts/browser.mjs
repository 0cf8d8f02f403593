// Shared by the browser tests (tests/browser/run.mjs) and benches (scripts/bench-browser.mjs):
// Debian's Chromium driven by playwright-core, with or without WebGPU (SwiftShader), and the
// page helpers both need. Nothing here downloads a browser.
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const BASE_FLAGS = [
  '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
// WebGPU on SwiftShader (a CPU Vulkan): correct, slow. Without these flags there is no adapter.
const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader',
];

/** The two browsers every test runs in: the backend 'auto' must pick in each. */
export const MODES = [
  { name: 'webgpu', webgpu: true, expectBackend: 'webgpu' },
  { name: 'cpu', webgpu: false, expectBackend: 'cpu' },
];

export async function launch({ webgpu }) {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/setup.sh (or set CHROMIUM)`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error('playwright-core is not installed: run scripts/setup.sh (npm ci)');
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_FLAGS, ...(webgpu ? WEBGPU_FLAGS : [])],
  });
}

/**
 * Opens `url` in a fresh page whose console errors and uncaught exceptions are collected in
 * `page.problems` (tests fail on them) and echoed when VERBOSE is set. `opts.context` sets up the
 * page's own browser context (a phone's viewport and touch, a colour scheme).
 */
export async function openPage(browser, url, { timeout = 120_000, context } = {}) {
  // `context`: Playwright context options (viewport, hasTouch, isMobile, colorScheme, …).
  const page = await browser.newPage(context);
  page.setDefaultTimeout(timeout);
  page.problems = [];
  page.on('console', (m) => {
    if (process.env.VERBOSE) console.log(`    [page ${m.type()}] ${m.text()}`);
    if (m.type() === 'error') page.problems.push(`console.error: ${m.text()} (${m.location()?.url ?? ''})`);
  });
  page.on('pageerror', (e) => page.problems.push(`uncaught: ${e.message}`));
  await page.goto(url);
  return page;
}

/** Opens www/harness.html, which loads pkg/ and exposes it as `window.ap`; `opts.query` is
 *  appended to its URL (e.g. '?wasm=simd128'). */
export async function openHarness(browser, baseUrl, opts = {}) {
  const page = await openPage(browser, new URL(`harness.html${opts.query ?? ''}`, baseUrl).href, opts);
  await page.waitForFunction(() => window.apReady || window.apError);
  const err = await page.evaluate(() => window.apError);
  if (err) throw new Error(`pkg/ failed to load in the page: ${err}`);
  return page;
}
