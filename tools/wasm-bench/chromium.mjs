// Runs the wasm dense bench in headless Debian Chromium (the real target of the CPU path):
// serves this folder, opens index.html, prints what the page printed. `./run.sh chromium`.
// Times are wall-clock (performance.now()); on a busy shared machine prefer the node figures.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';
import { launch, openPage } from '../../scripts/browser.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const { server, url } = await startServer({ root, port: 0, quiet: true });
const browser = await launch({ webgpu: false });
try {
  const page = await openPage(browser, new URL('index.html', url).href, { timeout: 600_000 });
  await page.waitForFunction(() => window.benchDone, null, { timeout: 600_000 });
  console.log(`wasm SIMD128 CPU dense ops, single thread, Chromium ${browser.version()} (wall time)`);
  console.log((await page.textContent('#out')).trimEnd());
  if (page.problems.length) console.log(page.problems.join('\n'));
} finally {
  await browser.close();
  server.close();
}
