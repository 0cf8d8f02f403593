// Static server for www/ with the headers the playground needs, and those that let other sites use
// it (README "Hosting"). No dependencies.
//   node scripts/serve.mjs            → http://127.0.0.1:8080  (PORT, HOST and ROOT to change)
// Also importable: `startServer({ port: 0 })` resolves to { server, url } (tests use a free port).
import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp',
  '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.ts': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream', '.safetensors': 'application/octet-stream',
};

/** `name.<16 hex digits>.ext`: a content-addressed file (scripts/models.d), never changed in place. */
export const HASHED_NAME = /\.[0-9a-f]{16}\.[^./]+$/;

const BASE_HEADERS = {
  // The page is cross-origin isolated at top level (COOP is ignored inside a frame).
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  // Public content: any origin may frame the pages (also from a COEP page), import the module
  // and fetch the models.
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, ETag',
};

export function startServer({ root = join(HERE, '..', 'www'), port = 8080, host = '127.0.0.1', quiet = false } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const headers = { ...BASE_HEADERS, 'Cache-Control': 'no-cache' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...headers, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': '*', 'Access-Control-Max-Age': '86400' }).end();
      return;
    }
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
      if (HASHED_NAME.test(basename(file))) headers['Cache-Control'] = 'public, max-age=31536000, immutable';
      headers['ETag'] = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
      headers['Last-Modified'] = stat.mtime.toUTCString();
      if (notModified(req.headers, headers.ETag, stat.mtime)) {
        res.writeHead(304, headers).end();
        return;
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

/** A conditional GET the cached copy still answers (If-None-Match wins over If-Modified-Since). */
function notModified(req, etag, mtime) {
  const inm = req['if-none-match'];
  if (inm) return inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*');
  const ims = Date.parse(req['if-modified-since'] ?? '');
  return Number.isFinite(ims) && Math.floor(mtime.getTime() / 1000) * 1000 <= ims;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 8080);
  startServer({ port, host: process.env.HOST ?? '127.0.0.1', root: process.env.ROOT }).catch((e) => {
    console.error(`could not start the server: ${e.message}`);
    process.exit(1);
  });
}
