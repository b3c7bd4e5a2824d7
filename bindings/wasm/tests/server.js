// A tiny static file server on 127.0.0.1 for the Chromium tests: the package folder at /, the
// shared vector folder at /vectors/.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const VECTORS = fileURLToPath(new URL('../../vectors/', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** The file a URL path names, or null when it would leave its folder. */
function resolve(urlPath) {
  const [base, rest] = urlPath.startsWith('/vectors/') ? [VECTORS, urlPath.slice(9)] : [PACKAGE, urlPath.slice(1)];
  const file = normalize(base + decodeURIComponent(rest));
  return file.startsWith(base) && !file.split(sep).includes('node_modules') ? file : null;
}

/** Starts the server on a free port of 127.0.0.1; resolves to `{ url, close }`. */
export async function startServer() {
  const server = createServer(async (req, res) => {
    const file = resolve(new URL(req.url, 'http://x').pathname);
    try {
      if (file === null) throw new Error('outside');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}
