// A tiny static file server for web/dist on 127.0.0.1 (no dependencies).
//   node tests/e2e/serve.mjs [DIR] [PORT]     (used by `make serve`; port 0 = any free port)
// Also imported by e2e.mjs, which adds a few extra routes for error cases.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json',
  '.md': 'text/markdown; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png', '.svg': 'image/svg+xml',
};

/** Every request served: {url, range} (the e2e test checks the URL loader's range requests). */
export const requests = [];

/** Serves `dir` (single `Range: bytes=a-b` requests answered with 206); `extra(url)` may
 *  return {status, type, body} for synthetic routes, {file, ranges} to serve a file
 *  from elsewhere (`ranges: false`: a server that ignores `Range`), or {handle(req, res)}
 *  to answer by hand (a hostile server). */
export function serve(dir, port = 0, extra = () => null) {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push({ url, range: req.headers.range || null });
    const synthetic = extra(url);
    if (synthetic?.handle) return synthetic.handle(req, res);
    if (synthetic?.file) return sendFile(req, res, synthetic.file, synthetic.ranges !== false);
    if (synthetic) {
      res.writeHead(synthetic.status, { 'content-type': synthetic.type, 'content-length': synthetic.body.length });
      return res.end(req.method === 'HEAD' ? undefined : synthetic.body);
    }
    const file = path.join(root, url.endsWith('/') ? url + 'index.html' : url);
    if (!file.startsWith(root)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    sendFile(req, res, file, true);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function sendFile(req, res, file, ranges) {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found');
  }
  const size = fs.statSync(file).size;
  const type = TYPES[path.extname(file)] || 'application/octet-stream';
  const m = ranges && /^bytes=(\d+)-(\d+)$/.exec(req.headers.range || '');
  if (m && Number(m[1]) <= Number(m[2]) && Number(m[2]) < size) {
    const [a, b] = [Number(m[1]), Number(m[2])];
    res.writeHead(206, { 'content-type': type, 'content-length': b - a + 1, 'content-range': `bytes ${a}-${b}/${size}` });
    if (req.method === 'HEAD') return res.end();
    return fs.createReadStream(file, { start: a, end: b }).pipe(res);
  }
  res.writeHead(200, { 'content-type': type, 'content-length': size, 'cache-control': 'no-cache' });
  if (req.method === 'HEAD') return res.end();
  fs.createReadStream(file).pipe(res);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] || 'web/dist';
  const port = Number(process.argv[3] || 8080);
  const server = await serve(dir, port);
  console.log(`serving ${dir} on http://127.0.0.1:${server.address().port}/ (Ctrl-C to stop)`);
}
