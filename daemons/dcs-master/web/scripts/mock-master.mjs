// A stand-in for dcs-master's admin API with made-up data, for trying the dashboard without a
// master: serves dist/ and /api/v1/... on 127.0.0.1 (PORT, default 7399). Operators, each
// with the password "dev-password" (PASSWORD): carol (*=operator), alice (acme=viewer), gus
// (globex=viewer) and dana (acme=operator, globex=viewer); the API token "dev-token" (TOKEN)
// is admin on every tenant. Grants are checked as the master checks them (403 naming the
// role), sessions end after SESSION_S seconds (default 3600), and every change is in a
// SHA-256-chained audit log (BREAK_AUDIT=1 shows a broken chain). The regions' lag history is
// sampled every SAMPLE_S seconds (default 60) over the last 7 days (NO_SAMPLES=1: none yet).
// The stores (GET /api/v1/stores) are the branches of the made-up sales, and store-3.
//   npm run build && node scripts/mock-master.mjs
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';

const PORT = Number(process.env.PORT ?? 7399);
const TOKEN = process.env.TOKEN ?? 'dev-token';
const PASSWORD = process.env.PASSWORD ?? 'dev-password';
const SESSION_MS = Number(process.env.SESSION_S ?? 3600) * 1000;
const USERS = {
  carol: [{ tenant: '*', role: 'operator' }],
  alice: [{ tenant: 'acme', role: 'viewer' }],
  gus: [{ tenant: 'globex', role: 'viewer' }],
  dana: [{ tenant: 'acme', role: 'operator' }, { tenant: 'globex', role: 'viewer' }],
};
const sessions = new Map(); // token -> { name, grants, expires }
const RANK = { viewer: 1, operator: 2, admin: 3 };

// Who the caller is: { name, grants } or null.
function principal(req) {
  const h = req.headers.authorization ?? '';
  const token = h.startsWith('Bearer ') ? h.slice(7).trim() : '';
  if (token === TOKEN) return { name: 'admin-token', grants: [{ tenant: '*', role: 'admin' }] };
  const s = sessions.get(token);
  if (!s || s.expires <= now()) return null;
  return { ...s, token };
}

// null when allowed, else the master's 403 message. scope: a tenant, or 'shared'.
function refuse(p, action, scope) {
  const need = action === 'read' ? 'viewer' : 'operator';
  const covers = (g) => (scope === 'shared' ? action === 'read' || g.tenant === '*' : g.tenant === '*' || g.tenant === scope);
  if (p.grants.some((g) => RANK[g.role] >= RANK[need] && covers(g))) return null;
  const what = action === 'read' ? 'read' : 'change prices or the catalog of';
  const where = scope === 'shared' ? 'what every tenant shares' : `tenant "${scope}"`;
  return `${p.name} may not ${what} ${where}: that needs the ${need} role there`;
}

function readable(p) {
  if (p.grants.some((g) => g.tenant === '*')) return null;
  return [...new Set(p.grants.map((g) => g.tenant))].sort();
}

// The tenant of a per-tenant read: [tenant or undefined] or [status, body] on refusal.
function tenantFor(p, asked) {
  if (asked) {
    const why = refuse(p, 'read', asked);
    return why ? { reply: [403, { error: why }] } : { tenant: asked };
  }
  const mine = readable(p);
  if (mine === null) return { tenant: undefined };
  if (mine.length === 1) return { tenant: mine[0] };
  return { reply: [400, { error: `tenant: name one of yours: ${mine.join(', ')}` }] };
}

const audit = [];
function record(actor, action, tenant, detail) {
  const prev = audit.at(-1)?.hash ?? '0'.repeat(64);
  const e = { seq: audit.length + 1, at_ms: now(), actor, action, tenant, detail: JSON.stringify(detail) };
  const hash = createHash('sha256').update(prev).update(JSON.stringify(e)).digest('hex');
  audit.push({ ...e, hash });
}
function verification() {
  if (process.env.BREAK_AUDIT && audit.length > 1) {
    return { entries: audit.length, intact: false, broken_at: 2, reason: 'the hash of entry 2 does not match its fields' };
  }
  return { entries: audit.length, intact: true, broken_at: null, reason: null };
}
const DIST = new URL('../dist/', import.meta.url).pathname;
const HOUR = 3_600_000;

// `GET /api/v1/regions/history`: every region sampled at the same instants, oldest first, at
// most 10,000 rows an answer (as the master: ORDER BY at_ms, region LIMIT 10000).
const SAMPLE_MS = Number(process.env.SAMPLE_S ?? 60) * 1000;
const KEEP_MS = 7 * 24 * HOUR;
function lagAt(region, at, t) {
  const min = at / 60_000;
  if (region === 1) return Math.round(Math.max(0, 6 * Math.sin(min / 17)) + (Math.floor(min) % 97 === 0 ? 40 : 0));
  if (region === 2) return Math.round(60 + 50 * Math.sin(min / 90) + (t - at < 10 * 60_000 ? 118 - 60 : 0) * (1 - (t - at) / 600_000));
  if (region === 3) {
    const failedAt = t - 2 * HOUR;
    if (at >= failedAt) return 5021;
    return Math.round(Math.max(0, 5021 - (failedAt - at) / 3000) * (at > failedAt - 6 * HOUR ? 1 : 0.05));
  }
  return 0;
}
function healthAt(region, at, t) {
  if (region === 4) return 'failed';
  if (region === 3) return at >= t - 2 * HOUR ? 'failed' : at >= t - 2 * HOUR - 5 * 60_000 ? 'suspect' : 'alive';
  if (region === 2) return at >= t - 60_000 ? 'suspect' : 'alive';
  return 'alive';
}
function history(q) {
  if (process.env.NO_SAMPLES) return [];
  const t = now();
  const last = Math.floor(t / SAMPLE_MS) * SAMPLE_MS;
  const since = Math.max(Number(q.get('since_ms') ?? 0) || 0, last - KEEP_MS);
  const rows = [];
  for (let at = Math.ceil(since / SAMPLE_MS) * SAMPLE_MS; at <= last && rows.length < 10_000; at += SAMPLE_MS) {
    for (const region of [1, 2, 3, 4]) {
      if (rows.length === 10_000) break;
      rows.push({ region, at_ms: at, lag: region === 4 ? 0 : lagAt(region, at, t), health: healthAt(region, at, t) });
    }
  }
  return rows;
}

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

// `GET /api/v1/stores`: the branches of the sales above, with an event count and the newest.
function stores() {
  const by = new Map();
  for (const r of sales(new URLSearchParams())) {
    const key = `${r.tenant}/${r.region}/${r.branch}`;
    const s = by.get(key) ?? { tenant: r.tenant, region: r.region, branch: r.branch, events: 0, last_event_ms: 0 };
    s.events += r.count;
    s.last_event_ms = Math.max(s.last_event_ms, Math.min(now() - 7_000 * r.region, (r.hour + 1) * HOUR - 1));
    by.set(key, s);
  }
  // A store whose stock is known but whose events are older than the sales kept.
  by.set('acme/1/store-3', { tenant: 'acme', region: 1, branch: 'store-3', events: 12, last_event_ms: now() - 30 * 24 * HOUR });
  return [...by.values()];
}

const stock = [
  { tenant: 'acme', branch: 'store-1', sku: 'COFFEE-250G', on_hand: 42 },
  { tenant: 'acme', branch: 'store-1', sku: 'TEA-GREEN-100G', on_hand: 0 },
  { tenant: 'acme', branch: 'store-2', sku: 'COFFEE-250G', on_hand: 17 },
  { tenant: 'acme', branch: 'store-7', sku: 'MUG-WHITE', on_hand: -2 },
  { tenant: 'globex', branch: 'ch-1', sku: 'CHOC-70', on_hand: 120 },
];

function api(req, url, body) {
  const p = url.pathname;
  if (p === '/api/v1/login' && req.method === 'POST') {
    let name, password;
    try {
      ({ name, password } = JSON.parse(body));
    } catch {
      return [400, { error: 'the body: send {"name": …, "password": …}' }];
    }
    if (typeof name !== 'string' || typeof password !== 'string') return [400, { error: 'the body: send {"name": …, "password": …}' }];
    if (!USERS[name] || password !== PASSWORD) return [401, { error: 'wrong operator name or password' }];
    const token = `dcs_s_${randomBytes(24).toString('hex')}`;
    const expires = now() + SESSION_MS;
    sessions.set(token, { name, grants: USERS[name], expires });
    record(name, 'login', '*', {});
    return [200, { token, expires_ms: expires, name, grants: USERS[name] }];
  }
  const who = principal(req);
  if (!who) return [401, { error: 'sign in: the session expired or was signed out' }];
  const denied = (action, scope) => {
    const why = refuse(who, action, scope);
    return why ? [403, { error: why }] : null;
  };
  if (p === '/api/v1/logout' && req.method === 'POST') {
    sessions.delete(who.token);
    record(who.name, 'logout', '*', {});
    return [200, { signed_out: true }];
  }
  if (p === '/api/v1/me') return [200, { name: who.name, grants: who.grants }];
  if (p === '/api/v1/audit') {
    const mine = readable(who);
    const entries = audit.filter((e) => mine === null || e.tenant === '*' || mine.includes(e.tenant)).slice(-500).reverse();
    return [200, { entries, verification: verification() }];
  }
  if (p === '/api/v1/summaries' || p === '/api/v1/rejected') {
    const no = denied('read', '*');
    if (no) return no;
  }
  if (p === '/api/v1/sales' || p === '/api/v1/stock' || p === '/api/v1/stores') {
    const t = tenantFor(who, url.searchParams.get('tenant'));
    if (t.reply) return t.reply;
    if (t.tenant) url.searchParams.set('tenant', t.tenant);
    else url.searchParams.delete('tenant');
  }
  if (p === '/api/v1/regions') {
    const t = now();
    return [200, { regions: [
      { region: 1, health: 'alive', last_seen_ms: t - 2_000, last_successful_sync_ms: t - 3_000, lag: 0, protocol: 'sync/1' },
      { region: 2, health: 'suspect', last_seen_ms: t - 47_000, last_successful_sync_ms: t - 95_000, lag: 118, protocol: 'sync/1' },
      { region: 3, health: 'failed', last_seen_ms: t - 2 * HOUR, last_successful_sync_ms: t - 3 * HOUR, lag: 5021, protocol: 'sync/1' },
      { region: 4, health: 'failed', last_seen_ms: null, last_successful_sync_ms: null, lag: 0, protocol: null },
    ] }];
  }
  if (p === '/api/v1/regions/history') {
    const since = url.searchParams.get('since_ms');
    if (since !== null && !/^\d+$/.test(since)) return [400, { error: 'the query: since_ms: invalid digit found in string: use ?since_ms=T' }];
    return [200, { samples: history(url.searchParams) }];
  }
  if (p === '/api/v1/summaries') return [200, { count: 128_734, page: [{ rowid: 1, event_id: '01J…', region: 1 }] }];
  if (p === '/api/v1/sales') return [200, { sales: sales(url.searchParams) }];
  if (p === '/api/v1/stock') {
    const tenant = url.searchParams.get('tenant');
    return [200, { stock: stock.filter((s) => !tenant || s.tenant === tenant) }];
  }
  if (p === '/api/v1/stores') {
    const tenant = url.searchParams.get('tenant');
    return [200, { stores: stores().filter((s) => !tenant || s.tenant === tenant) }];
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
    const no = denied('change', 'shared');
    if (no) return no;
    const sku = decodeURIComponent(m[2]);
    if (/[^\x21-\x7e]/.test(sku) || sku.length > 64) return [400, { error: 'sku: not printable ASCII' }];
    if (m[1] === 'catalog') {
      record(who.name, 'list_in_catalog', '*', { sku, listed: true });
      return [200, { sku, listed: true }];
    }
    let v;
    try { v = JSON.parse(body).price_minor; } catch { return [400, { error: 'the body: send {"price_minor": N}' }]; }
    if (!Number.isInteger(v)) return [400, { error: 'the body: send {"price_minor": N}' }];
    if (v < 0) return [400, { error: 'price_minor: a price is not below zero' }];
    prices.set(sku, v);
    record(who.name, 'set_price', '*', { sku, price_minor: v });
    return [200, { sku, price_minor: v }];
  }
  return [404, { error: 'no such route' }];
}

for (const name of Object.keys(USERS)) record('cli', 'create_user', '*', { name, grants: USERS[name] });

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
}).listen(PORT, '127.0.0.1', () =>
  console.log(`mock master on http://127.0.0.1:${PORT}/ (operators ${Object.keys(USERS).join(', ')}, password ${PASSWORD}; API token ${TOKEN})`),
);
