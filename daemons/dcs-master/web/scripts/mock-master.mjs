// A stand-in for dcs-master's admin API with made-up data, for trying the dashboard without a
// master: serves dist/ and /api/v1/... on 127.0.0.1 (PORT, default 7399), token "dev-token".
//   npm run build && node scripts/mock-master.mjs
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';

const PORT = Number(process.env.PORT ?? 7399);
const TOKEN = process.env.TOKEN ?? 'dev-token';
const DIST = new URL('../dist/', import.meta.url).pathname;
const HOUR = 3_600_000;

const prices = new Map([['COFFEE-250G', 450]]);
const now = () => Date.now();
const thisHour = () => Math.floor(now() / HOUR);

function sales(q) {
  const rows = [];
  const branches = [[1, 'store-1'], [1, 'store-2'], [2, 'store-7'], [3, 'store-9']];
  for (let h = thisHour() - 24 * 10; h <= thisHour(); h++) {
    for (const [region, branch] of branches) {
      const n = (h * 7 + region * 13 + branch.length) % 9;
      if (n === 0) continue;
      rows.push({ tenant: 'acme', region, branch, hour: h, event_type: 'SALE_COMPLETED', currency: 'EUR', count: n, amount_minor: n * 1234 + (h % 97) });
      if (n === 5) rows.push({ tenant: 'acme', region, branch, hour: h, event_type: 'SALE_REVERSED', currency: 'EUR', count: 1, amount_minor: 499 });
    }
    if (h % 3 === 0) rows.push({ tenant: 'globex', region: 2, branch: 'ch-1', hour: h, event_type: 'SALE_COMPLETED', currency: 'CHF', count: 2, amount_minor: 2590 });
  }
  const from = q.has('from_hour') ? Number(q.get('from_hour')) : 0;
  const to = q.has('to_hour') ? Number(q.get('to_hour')) : Infinity;
  const tenant = q.get('tenant');
  return rows.filter((r) => r.hour >= from && r.hour < to && (!tenant || r.tenant === tenant));
}

const stock = [
  { tenant: 'acme', branch: 'store-1', sku: 'COFFEE-250G', on_hand: 42 },
  { tenant: 'acme', branch: 'store-1', sku: 'TEA-GREEN-100G', on_hand: 0 },
  { tenant: 'acme', branch: 'store-2', sku: 'COFFEE-250G', on_hand: 17 },
  { tenant: 'acme', branch: 'store-7', sku: 'MUG-WHITE', on_hand: -2 },
  { tenant: 'globex', branch: 'ch-1', sku: 'CHOC-70', on_hand: 120 },
];

function api(req, url, body) {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return [401, { error: 'send the admin token as `Authorization: Bearer …`' }];
  const p = url.pathname;
  if (p === '/api/v1/regions') {
    const t = now();
    return [200, { regions: [
      { region: 1, health: 'alive', last_seen_ms: t - 2_000, last_successful_sync_ms: t - 3_000, lag: 0, protocol: 'sync/1' },
      { region: 2, health: 'suspect', last_seen_ms: t - 47_000, last_successful_sync_ms: t - 95_000, lag: 118, protocol: 'sync/1' },
      { region: 3, health: 'failed', last_seen_ms: t - 2 * HOUR, last_successful_sync_ms: t - 3 * HOUR, lag: 5021, protocol: 'sync/1' },
      { region: 4, health: 'failed', last_seen_ms: null, last_successful_sync_ms: null, lag: 0, protocol: null },
    ] }];
  }
  if (p === '/api/v1/summaries') return [200, { count: 128_734, page: [{ rowid: 1, event_id: '01J…', region: 1 }] }];
  if (p === '/api/v1/sales') return [200, { sales: sales(url.searchParams) }];
  if (p === '/api/v1/stock') {
    const tenant = url.searchParams.get('tenant');
    return [200, { stock: stock.filter((s) => !tenant || s.tenant === tenant) }];
  }
  if (p === '/api/v1/rejected') return [200, { rejected: [
    { region: 2, position: 9912, event_id: '0193a1f2-7c44-7d10-9a55-0f3c2b1e9d01', reason: 'bad signature' },
    { region: 3, position: 17, event_id: '0193a1f2-7c44-7d10-9a55-0f3c2b1e9d02', reason: 'chain broken: previous hash does not match' },
  ] }];
  if (p === '/api/v1/prices' && req.method === 'GET') {
    const skus = (url.search.slice(1) || '').split('&').filter(Boolean).map((kv) => kv.split('=')[1] ?? '');
    return [200, { prices: skus.map((s) => ({ sku: s, price_minor: prices.get(s) ?? null })) }];
  }
  const m = /^\/api\/v1\/(prices|catalog)\/(.+)$/.exec(p);
  if (m && req.method === 'PUT') {
    const sku = decodeURIComponent(m[2]);
    if (/[^\x21-\x7e]/.test(sku) || sku.length > 64) return [400, { error: 'sku: not printable ASCII' }];
    if (m[1] === 'catalog') return [200, { sku, listed: true }];
    let v;
    try { v = JSON.parse(body).price_minor; } catch { return [400, { error: 'the body: send {"price_minor": N}' }]; }
    if (!Number.isInteger(v)) return [400, { error: 'the body: send {"price_minor": N}' }];
    if (v < 0) return [400, { error: 'price_minor: a price is not below zero' }];
    prices.set(sku, v);
    return [200, { sku, price_minor: v }];
  }
  return [404, { error: 'no such route' }];
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${PORT}`);
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (url.pathname.startsWith('/api/')) {
      const [status, out] = api(req, url, body);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out));
      return;
    }
    const file = join(DIST, normalize(url.pathname === '/' ? 'index.html' : url.pathname).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(DIST) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
}).listen(PORT, '127.0.0.1', () => console.log(`mock master on http://127.0.0.1:${PORT}/ (token ${TOKEN})`));
