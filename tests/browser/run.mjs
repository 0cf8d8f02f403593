// Browser tests: serves www/ (with the built pkg/), then runs every tests/browser/*.test.mjs in
// Debian Chromium twice — with WebGPU (SwiftShader; 'auto' must pick 'webgpu') and without
// ('auto' must pick 'cpu'). Exits non-zero, loudly, on any failure.
//
//   node tests/browser/run.mjs [name-filter]      MODES=cpu|webgpu to run one browser; VERBOSE=1
//
// A test file's default export maps test names to async functions receiving a context:
//   { mode, expectBackend, baseUrl, harness(query?), open(path), assert }
// `harness(query?)` opens www/harness.html (pkg loaded as window.ap; query '?wasm=simd128' picks
// that build); `open(path, context?)` any page under www/ (context: Playwright context options,
// e.g. a phone's viewport and touch).
// Pages that log console errors or throw fail the test.
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';
import { MODES, launch, openPage, openHarness } from '../../scripts/browser.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const filter = process.argv[2] ?? '';
const modes = MODES.filter((m) => !process.env.MODES || process.env.MODES.split(',').includes(m.name));

if (!existsSync(join(ROOT, 'www', 'pkg', 'attention_playground.js'))) {
  console.error('\n!!!! www/pkg is missing: run `make build` first !!!!\n');
  process.exit(1);
}

const files = readdirSync(HERE).filter((f) => f.endsWith('.test.mjs')).sort();
const suites = [];
for (const f of files) suites.push({ file: f, tests: (await import(pathToFileURL(join(HERE, f)).href)).default });

const { server, url: baseUrl } = await startServer({ port: 0, quiet: true });
const failures = [];
let passed = 0;
const t0 = performance.now();
try {
  for (const mode of modes) {
    console.log(`\n== Chromium, ${mode.webgpu ? 'WebGPU on (SwiftShader)' : 'WebGPU off'}: expecting backend '${mode.expectBackend}'`);
    const browser = await launch(mode);
    try {
      for (const { file, tests } of suites) {
        for (const [name, fn] of Object.entries(tests)) {
          const full = `${file} › ${name}`;
          if (filter && !full.includes(filter)) continue;
          const pages = [];
          const track = async (p) => (pages.push(await p), pages.at(-1));
          const ctx = {
            mode: mode.name,
            expectBackend: mode.expectBackend,
            baseUrl,
            assert,
            harness: (query) => track(openHarness(browser, baseUrl, { query })),
            open: (path, context) => track(openPage(browser, new URL(path, baseUrl).href, { context })),
          };
          const start = performance.now();
          try {
            await fn(ctx);
            const problems = pages.flatMap((p) => p.problems);
            if (problems.length) throw new Error(`the page reported problems:\n      ${problems.join('\n      ')}`);
            passed++;
            console.log(`  ok   ${full} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
          } catch (e) {
            failures.push({ mode: mode.name, name: full, error: e });
            console.log(`  FAIL ${full}\n       ${String(e?.stack ?? e).split('\n').join('\n       ')}`);
          } finally {
            await Promise.all(pages.map((p) => p.close().catch(() => {})));
          }
        }
      }
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}

const secs = ((performance.now() - t0) / 1000).toFixed(0);
if (failures.length) {
  console.error(`\n!!!! ${failures.length} browser test(s) FAILED (${passed} passed, ${secs} s):`);
  for (const f of failures) console.error(`!!!!   [${f.mode}] ${f.name}: ${String(f.error?.message ?? f.error).split('\n')[0]}`);
  process.exit(1);
}
if (passed === 0) {
  console.error(`\n!!!! no browser test matched '${filter}' !!!!`);
  process.exit(1);
}
console.log(`\nbrowser tests: all ${passed} passed in ${modes.map((m) => m.name).join(' + ')} (${secs} s)`);
