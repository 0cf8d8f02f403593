// Generic browser bench runner: serves www/, opens Debian Chromium (WebGPU on via SwiftShader by
// default, so both 'webgpu' and 'cpu' backends can be measured in one run), and runs bench modules.
//
//   node scripts/bench-browser.mjs path/to/x.bench.mjs [more.bench.mjs]   (WEBGPU=0 to disable WebGPU)
//
// A bench module default-exports { name, async run(ctx) } with ctx =
//   { harness(query?), open(path), baseUrl, webgpu, log(...), record(row) }
// `harness(query?)` opens www/harness.html (pkg loaded as window.ap; WASM=simd128 or WASM=relaxed in the
// environment picks that build, else init() picks). Rows passed to `record` are printed
// as a table at the end and saved to bench-out/<name>.json with the browser and machine described.
// Figures only: a bench never fails because something is slow.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer } from './serve.mjs';
import { launch, openPage, openHarness } from './browser.mjs';

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node scripts/bench-browser.mjs <bench.mjs> [...]');
  process.exit(2);
}
const webgpu = process.env.WEBGPU !== '0';
const { server, url: baseUrl } = await startServer({ port: 0, quiet: true });
const browser = await launch({ webgpu });
let failed = false;
try {
  for (const f of files) {
    const bench = (await import(pathToFileURL(resolve(f)).href)).default;
    const rows = [];
    const pages = [];
    const track = async (p) => (pages.push(await p), pages.at(-1));
    console.log(`\n== ${bench.name} (Chromium ${browser.version()}, WebGPU ${webgpu ? 'on (SwiftShader)' : 'off'}, ${cpus().length} × ${cpus()[0]?.model})`);
    try {
      await bench.run({
        baseUrl,
        webgpu,
        harness: (query = process.env.WASM ? `?wasm=${process.env.WASM}` : '') => track(openHarness(browser, baseUrl, { timeout: 600_000, query })),
        open: (path) => track(openPage(browser, new URL(path, baseUrl).href, { timeout: 600_000 })),
        log: (...a) => console.log('  ', ...a),
        record: (row) => rows.push(row),
      });
    } catch (e) {
      failed = true;
      console.error(`!!!! bench ${bench.name} failed: ${e?.stack ?? e}`);
    } finally {
      await Promise.all(pages.map((p) => p.close().catch(() => {})));
    }
    if (rows.length) {
      console.table(rows);
      mkdirSync('bench-out', { recursive: true });
      const out = `bench-out/${bench.name}.json`;
      writeFileSync(out, JSON.stringify({
        bench: bench.name, date: new Date().toISOString(), browser: `Chromium ${browser.version()}`, webgpu,
        machine: `${cpus().length} × ${cpus()[0]?.model}`, rows,
      }, null, 2));
      console.log(`   saved ${out}`);
    }
  }
} finally {
  await browser.close();
  server.close();
}
process.exit(failed ? 1 : 0);
