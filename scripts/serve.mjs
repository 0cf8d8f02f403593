// Static server for www/ with the headers the playground needs: application/wasm for .wasm, and
// COOP/COEP so the page is cross-origin isolated (SharedArrayBuffer, precise timers). No dependencies.
//   node scripts/serve.mjs            → http://127.0.0.1:8080  (PORT, HOST and ROOT to change)
// Also importable: `startServer({ port: 0 })` resolves to { server, url } (tests use a free port).
import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp',
  '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.ts': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream', '.safetensors': 'application/octet-stream',
};

export function startServer({ root = join(HERE, '..', 'www'), port = 8080, host = '127.0.0.1', quiet = false } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-cache',
    };
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400, headers).end('bad request');
      return;
    }
    // Resolve inside root only: no "..", no absolute escapes.
    let file = resolve(base, '.' + normalize(path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403, headers).end('forbidden');
      return;
    }
    try {
      let stat = await fs.stat(file);
      if (stat.isDirectory()) {
        file = join(file, 'index.html');
        stat = await fs.stat(file);
      }
      headers['Content-Type'] = MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
      headers['Content-Length'] = stat.size;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const url = `http://${host}:${server.address().port}/`;
      if (!quiet) console.log(`serving ${base} at ${url}`);
      ok({ server, url });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 8080);
  startServer({ port, host: process.env.HOST ?? '127.0.0.1', root: process.env.ROOT }).catch((e) => {
    console.error(`could not start the server: ${e.message}`);
    process.exit(1);
  });
}
