// The dashboard in headless Chromium (playwright-core, Debian's /usr/bin/chromium) against a
// real dcs-master with a real region and store behind it. Run by
// daemons/dcs-regional/tests/dashboard_e2e.rs, which starts the daemons, makes the operators
// and passes, in the environment:
//   DCS_DASHBOARD_URL  the master's admin address serving the dashboard (http://127.0.0.1:P/)
//   CAROL_PASSWORD, ALICE_PASSWORD, GUS_PASSWORD, ADA_PASSWORD  (carol *=operator, alice
//   acme=viewer, gus globex=viewer, ada acme=admin; acme's till-7 and till-8 are in the key
//   registry, and the store reported its till s1-till-1)
//   DCS_CHROMIUM (default /usr/bin/chromium), DCS_SCREENSHOTS (a folder), DCS_DIST (the built
//   dashboard, for the bundle's size), DCS_E2E_PROFILE (a fresh Chromium profile folder).
//
// It speaks with the test in lines: it prints `WAIT price-set SKU PRICE` and blocks on stdin
// until the test answers `OK <new sales> <their amount in minor units>` (once the price reached
// the store through the region and the store's new sales reached the master), and `WAIT
// revoked TENANT AGENT`, answered `OK` once the revocation reached the store. Every check is
// an assertion: the first that fails prints what was on the page and exits 1.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const URL_ = process.env.DCS_DASHBOARD_URL ?? 'http://127.0.0.1:7380/';
const BASE = URL_.endsWith('/') ? URL_ : `${URL_}/`;
const SHOTS = process.env.DCS_SCREENSHOTS ?? '.';
const DIST = process.env.DCS_DIST ?? new URL('../dist/', import.meta.url).pathname;
const PROFILE = process.env.DCS_E2E_PROFILE ?? mkdtempSync(join(tmpdir(), 'dcs-e2e-chromium-'));
const password = (name) => {
  const p = process.env[`${name.toUpperCase()}_PASSWORD`];
  assert.ok(p, `${name.toUpperCase()}_PASSWORD is not set`);
  return p;
};
const DESKTOP = { width: 1280, height: 800 };
const TABLET = { width: 768, height: 1024 };
const T = 15_000; // how long one thing may take to appear

const say = (line) => console.log(line);
const kb = (bytes) => (bytes / 1024).toFixed(1);

// Lines from the test, one answer per WAIT.
const stdin = createInterface({ input: process.stdin });
const answers = [];
const waiting = [];
stdin.on('line', (l) => (waiting.length ? waiting.shift()(l) : answers.push(l)));
stdin.on('close', () => waiting.splice(0).forEach((w) => w(null)));
async function ask(what) {
  say(`WAIT ${what}`);
  const line = answers.length ? answers.shift() : await new Promise((r) => waiting.push(r));
  assert.ok(line && line.startsWith('OK'), `the test answered ${JSON.stringify(line)} to WAIT ${what}`);
  return line.split(/\s+/).slice(1);
}

// In the page, before its own scripts: when (ms after navigation start) the sign-in form and
// the fleet table first appeared, and when Sign in was pressed.
function marks() {
  const m = (window.__dcsMarks = {});
  const check = () => {
    if (m.signin === undefined && document.querySelector('input[name="password"]')) m.signin = performance.now();
    if (m.fleet === undefined) {
      for (const c of document.querySelectorAll('table caption')) {
        if (c.textContent === 'Regions and their sync state' && c.closest('table').querySelector('tbody tr')) m.fleet = performance.now();
      }
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
  document.addEventListener('submit', () => (m.submit = performance.now()), true);
}

/** Cents from a formatted amount ("$1,234.50" → 123450). */
const cents = (text) => Number(text.replace(/[^0-9]/g, ''));

const browser = await chromium.launchPersistentContext(PROFILE, {
  executablePath: process.env.DCS_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: DESKTOP,
  locale: 'en-US',
  timezoneId: 'UTC',
});
const page = browser.pages()[0] ?? (await browser.newPage());
page.setDefaultTimeout(T);
await page.addInitScript(marks);
const consoleErrors = [];
page.on('console', (m) => m.type() === 'error' && consoleErrors.push(`${m.text()} (${m.location().url})`));
page.on('pageerror', (e) => consoleErrors.push(String(e)));

// Every script the dashboard loads, with its size as sent and gzipped.
const scripts = new Map();
let phase = 'first-load';
page.on('response', async (r) => {
  if (!r.url().endsWith('.js') || scripts.has(r.url())) return;
  try {
    const body = await r.body();
    scripts.set(r.url(), { phase, raw: body.length, gz: gzipSync(body, { level: 9 }).length, encoding: r.headers()['content-encoding'] ?? 'identity' });
  } catch {
    // a response without a body (redirect): nothing to count
  }
});

const shot = async (name) => {
  const path = join(SHOTS, `dashboard-${name}.png`);
  await page.screenshot({ path });
  say(`screenshot ${path}`);
};
const tab = (name) => page.getByRole('tab', { name, exact: true });
const fleetTable = () => page.locator('table', { has: page.locator('caption', { hasText: 'Regions and their sync state' }) });
const session = () => page.evaluate(() => JSON.parse(sessionStorage.getItem('dcs-master.session') ?? 'null'));
const api = (token, path, method = 'GET') =>
  page.request.fetch(`${BASE}${path.replace(/^\//, '')}`, { method, headers: token ? { Authorization: `Bearer ${token}` } : {}, failOnStatusCode: false });
const json = async (r) => {
  try {
    return await r.json();
  } catch {
    return {};
  }
};

async function signIn(name) {
  await page.getByLabel('Operator name').fill(name);
  await page.getByLabel('Password').fill(password(name));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
  assert.equal(await page.getByTestId('whoami').textContent(), name, 'the header names the operator');
  const s = await session();
  assert.equal(s?.name, name);
  say(`${name} signed in (${s.grants.map((g) => `${g.role} on ${g.tenant}`).join(', ')})`);
  return s.token;
}

/** Signs out with the button; the old token then gets 401 and the page is at sign-in. */
async function signOut(name, token) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.getByText('Your session ended').count(), 0, 'no notice after signing out oneself');
  assert.equal(await session(), null, 'the session is gone from sessionStorage');
  const r = await api(token, '/api/v1/regions');
  assert.equal(r.status(), 401, `${name}'s token after Sign out: ${await r.text()}`);
  say(`${name} signed out: the old token gets 401, the page is at sign-in`);
}

async function salesTotal() {
  const t = page.getByTestId('sales-total');
  await t.waitFor();
  return cents(await t.textContent());
}

let failed = false;
try {
  // 1. First load, cold cache: the sign-in form.
  const navStarted = Date.now();
  await page.goto(BASE);
  await page.getByLabel('Password').waitFor();
  await page.waitForFunction(() => window.__dcsMarks.signin !== undefined);
  const cold = await page.evaluate(() => ({
    signin: window.__dcsMarks.signin,
    dcl: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd,
  }));
  say(`first load: sign-in form visible ${cold.signin.toFixed(0)} ms after navigation start (DOMContentLoaded ${cold.dcl?.toFixed(0)} ms; wall ${Date.now() - navStarted} ms)`);
  phase = 'after sign-in';

  await page.getByLabel('Operator name').fill('carol');
  await page.getByLabel('Password').fill(password('carol'));
  await shot('signin');

  // A wrong password is refused under the form.
  await page.getByLabel('Password').fill('not carol’s password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const err = page.getByTestId('signin-error');
  await err.waitFor();
  assert.equal(await err.textContent(), 'Not signed in: wrong operator name or password');
  assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password is cleared');
  say('a wrong password is refused under the form');
  await page.getByLabel('Password').fill(password('carol'));

  // 2. carol (*=operator).
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
  await fleetTable().locator('tbody tr').first().waitFor();
  await page.waitForFunction(() => window.__dcsMarks.fleet !== undefined);
  const warm = await page.evaluate(() => window.__dcsMarks);
  const afterSignIn = warm.fleet - warm.submit;
  say(`fleet table visible ${afterSignIn.toFixed(0)} ms after Sign in was pressed`);
  const carol = (await session()).token;
  assert.equal(await page.getByTestId('whoami').textContent(), 'carol');

  // Fleet: the region, alive, with its last successful sync.
  const rows = fleetTable().locator('tbody tr');
  assert.equal(await rows.count(), 1, 'one region');
  const cells = await rows.first().locator('td').allTextContents();
  assert.equal(cells[0], '0', `region 0: ${cells}`);
  assert.match(cells[1], /Alive/, `status: ${cells}`);
  assert.match(cells[3], /(ago|just now)$/, `last successful sync shown: ${cells}`);
  const held = cents(await page.getByTestId('summary-count').textContent());
  assert.ok(held > 0, 'the master holds summaries');
  say(`fleet: region 0 ${cells[1]}, last successful sync ${cells[3]}, ${held} summaries held`);
  await shot('fleet');
  await page.setViewportSize(TABLET);
  await page.waitForFunction(() => matchMedia('(max-width: 900px)').matches);
  await fleetTable().waitFor();
  await page.waitForTimeout(300);
  await shot('fleet-tablet');
  await page.setViewportSize(DESKTOP);

  // The load time with a session (reload: cache warm, signed in): navigation → fleet table.
  await page.reload();
  await fleetTable().locator('tbody tr').first().waitFor();
  await page.waitForFunction(() => window.__dcsMarks.fleet !== undefined);
  const reload = await page.evaluate(() => window.__dcsMarks.fleet);
  say(`reload while signed in: fleet table visible ${reload.toFixed(0)} ms after navigation start`);

  // Sales before the price change.
  await tab('Sales').click();
  const before = await salesTotal();
  assert.ok(before > 0, 'sales are shown');
  say(`sales total before: ${before} cents`);

  // Prices: carol sets COFFEE-250G to 4.50 USD.
  await tab('Prices').click();
  await page.getByLabel('SKU').fill('COFFEE-250G');
  await page.getByLabel('Currency').click();
  await page.getByRole('option', { name: 'USD' }).click();
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByTestId('central-price').waitFor();
  const old = await page.getByTestId('central-price').textContent();
  await page.getByLabel('New price (USD)').fill('4.50');
  await page.getByRole('button', { name: 'Set price…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /\$4\.50 \(450 minor units\)/);
  await dialog.getByRole('button', { name: 'Set price', exact: true }).click();
  await page.getByText('450 minor units', { exact: true }).waitFor();
  assert.equal(await page.getByTestId('central-price').textContent(), '$4.50');
  say(`prices: COFFEE-250G ${old} → $4.50`);
  await page.getByText('Price of COFFEE-250G set', { exact: true }).waitFor();
  await shot('prices');
  await page.getByRole('button', { name: 'Dismiss' }).click();
  await page.getByText('Price of COFFEE-250G set', { exact: true }).waitFor({ state: 'detached' });
  const r = await api(carol, '/api/v1/prices?sku=COFFEE-250G');
  assert.deepEqual((await json(r)).prices, [{ sku: 'COFFEE-250G', price_minor: 450 }]);

  // The price goes down through the region to the store, which sells at it.
  const [events, amount] = (await ask('price-set COFFEE-250G 450')).map(Number);
  assert.ok(events > 0 && amount > 0, 'the test says what it sold');

  // Sales: the total grows by what the store sold.
  await tab('Sales').click();
  let after = await salesTotal();
  for (let i = 0; after === before && i < 20; i++) {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.waitForTimeout(500);
    after = await salesTotal();
  }
  assert.equal(after - before, amount, `the Sales view total grew by the new sales: ${before} → ${after}`);
  say(`sales total after the store's ${events} new sales: ${after} cents (+${after - before})`);
  await page.getByRole('table', { name: /Sales per region and branch/ }).waitFor();
  // The screenshot over the last 24 hours (every sale of this run is in them).
  await page.getByLabel('Time range').click();
  await page.getByRole('option', { name: 'Last 24 hours' }).click();
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('img', { name: /over 24 hours/ }).waitFor();
  await page.locator('.recharts-bar-rectangle').first().waitFor();
  assert.equal(await salesTotal(), after, 'the last 24 hours hold every sale of the run');
  await shot('sales');

  // Prices again: the change is shown arriving at the store (the region leader reports how
  // far each store merged the master's changes every few seconds).
  await tab('Prices').click();
  await page.getByLabel('SKU').fill('COFFEE-250G');
  await page.getByLabel('Currency').click();
  await page.getByRole('option', { name: 'USD' }).click();
  await page.getByRole('button', { name: 'Look up' }).click();
  const arrived = page.getByTestId('arrival-summary').filter({ hasText: /has reached (\d+) of \1 stores?\./ });
  const arrivalStart = Date.now();
  await arrived.waitFor({ timeout: 60_000 });
  assert.match(await arrived.textContent(), /^\$4\.50 has reached [1-9]/);
  const firstRow = page.locator('[data-testid^="arrival-"]').filter({ hasText: 'Arrived' }).first();
  // The store is shown by the branch of the events it sold (its region names it so).
  await page.locator('[data-testid^="arrival-"]').filter({ hasText: 's1 · store 1' }).waitFor({ timeout: 30_000 });
  say(`prices: ${await arrived.textContent()} (shown ${Date.now() - arrivalStart} ms after the look-up; row: ${await firstRow.textContent()})`);
  await shot('price-arrival');

  // Lag over time: the master samples every second here; one line per region.
  await tab('Lag over time').click();
  await page.getByTestId('lag-chart').waitFor();
  await page.locator('.recharts-line').first().waitFor();
  await page.getByLabel('Last 1 h').click();
  await page.getByRole('table', { name: /newest and highest lag over the last hour/ }).waitFor();
  say('lag over time: the chart and its table are drawn');
  await shot('lag');
  // The region's leaders forward to PostgreSQL and Kafka: their backlog over time, per sink.
  const backlog = page.getByTestId('backlog-chart');
  await backlog.waitFor({ timeout: 30_000 });
  for (const sink of ['postgres', 'kafka']) {
    await page.locator(`[data-testid$="-${sink}"][data-testid^="backlog-"]`).first().waitFor();
  }
  say(`backlog over time: ${await backlog.getAttribute('aria-label')}`);
  await backlog.scrollIntoViewIfNeeded();
  await shot('backlog');

  // Raft health: the region's leader reports its cluster (every 5 s): three voters, one leader.
  await tab('Raft health').click();
  const leaderStat = page.locator('[data-testid^="raft-leader-"]').first();
  await leaderStat.waitFor({ timeout: 30_000 });
  const members = page.getByRole('table', { name: /^Members of region \d+/ }).first();
  await members.waitFor();
  assert.equal(await members.locator('tbody tr').count(), 3, 'three members');
  assert.equal(await members.locator('tbody tr', { hasText: 'Leader' }).count(), 1, 'one leader');
  say(`raft health: leader ${await leaderStat.textContent()}`);
  await shot('raft');

  // Stores: the store that sold opens on its own page (sales, stock, its region's refusals).
  await tab('Stores').click();
  const storeLink = page.getByRole('link', { name: /^Open store / }).first();
  await storeLink.waitFor();
  await storeLink.click();
  await page.getByTestId('store-title').waitFor();
  await page.getByRole('table', { name: /Sales of this store per hour/ }).waitFor();
  assert.ok(Number((await page.getByTestId('store-events').textContent()).replace(/\D/g, '')) > 0, 'the store page counts its events');
  say(`store page: ${await page.getByTestId('store-title').textContent()}, ${await page.getByTestId('store-events').textContent()} events`);
  await shot('store');
  await page.goBack();
  await page.getByRole('link', { name: /^Open store / }).first().waitFor();

  // Audit: carol's set_price, and the chain verified.
  await tab('Audit').click();
  const chain = page.getByTestId('chain-status');
  await chain.waitFor();
  assert.match(await chain.textContent(), /^Chain verified: \d+ entries$/);
  const priceRow = page.getByTestId('audit-row').filter({ hasText: 'set_price' }).filter({ hasText: 'carol' });
  assert.equal(await priceRow.count(), 1, 'carol’s set_price is audited once');
  assert.match(await priceRow.textContent(), /price_minor: 450, sku: COFFEE-250G/);
  say(`audit: ${await chain.textContent()}; carol's set_price listed`);
  await shot('audit');
  assert.equal((await api(carol, '/api/v1/summaries?limit=1')).status(), 200);
  await signOut('carol', carol);

  // 3. alice (acme=viewer): only acme; what spans tenants is refused.
  const alice = await signIn('alice');
  await fleetTable().locator('tbody tr').first().waitFor();
  assert.equal(await page.getByTestId('summary-count').textContent(), '—', 'no summaries count for a one-tenant viewer');
  await tab('Sales').click();
  assert.equal(await page.getByTestId('tenant-fixed').inputValue(), 'acme');
  assert.equal(await salesTotal(), after, 'alice sees acme’s sales');
  let res = await api(alice, '/api/v1/sales');
  const sales = (await json(res)).sales ?? [];
  assert.equal(res.status(), 200);
  assert.ok(sales.length > 0 && sales.every((s) => s.tenant === 'acme'), `alice's sales are acme's: ${JSON.stringify(sales.slice(0, 3))}`);
  for (const path of ['/api/v1/sales?tenant=globex', '/api/v1/stock?tenant=globex', '/api/v1/rejected', '/api/v1/summaries']) {
    res = await api(alice, path);
    assert.equal(res.status(), 403, `${path} for alice: ${await res.text()}`);
    assert.match((await json(res)).error ?? '', /^alice may not .* role there$/);
  }
  res = await api(alice, '/api/v1/prices/COFFEE-250G', 'PUT');
  assert.equal(res.status(), 403, 'alice may not set prices');
  say('alice: acme sales only; ?tenant=globex, rejected, summaries and a price change answer 403');
  await tab('Rejected events').click();
  const noAccess = page.getByTestId('no-access');
  await noAccess.waitFor();
  assert.match(await noAccess.textContent(), /You don't have access to rejected events/);
  assert.equal(await page.getByRole('alert').count(), 0, 'no access is not shown as an error');
  await tab('Prices').click();
  await page.getByLabel('SKU').fill('COFFEE-250G');
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByTestId('prices-read-only').waitFor();
  assert.ok(await page.getByRole('button', { name: 'Set price…' }).isDisabled(), 'alice cannot set prices');
  say('alice: the no-access state for rejected events; prices read only');
  // Her session ended on the master behind the page's back: the next call returns to sign-in.
  assert.equal((await api(alice, '/api/v1/logout', 'POST')).status(), 200);
  await tab('Fleet').click();
  await page.getByText('Your session ended: sign in again').waitFor();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal((await api(alice, '/api/v1/sales')).status(), 401);
  say('alice: a session ended elsewhere brings the page back to sign-in with "Your session ended"');

  // 4. gus (globex=viewer): none of acme's rows.
  const gus = await signIn('gus');
  await tab('Sales').click();
  assert.equal(await page.getByTestId('tenant-fixed').inputValue(), 'globex');
  await page.getByText('No sales in this range').waitFor();
  assert.equal(await page.getByTestId('sales-total').count(), 0);
  await tab('Stock').click();
  await page.getByText('No stock levels').waitFor();
  for (const path of ['/api/v1/sales', '/api/v1/stock']) {
    res = await api(gus, path);
    assert.equal(res.status(), 200);
    const rows = Object.values(await json(res))[0] ?? [];
    assert.equal(rows.filter((x) => x.tenant === 'acme').length, 0, `gus sees no acme rows in ${path}`);
  }
  assert.equal((await api(gus, '/api/v1/sales?tenant=acme')).status(), 403);
  say('gus: no acme rows anywhere, ?tenant=acme answers 403');
  // gus may not read acme's key registry either.
  assert.equal((await api(gus, '/api/v1/keys?tenant=acme')).status(), 403, 'gus may not read acme’s keys');
  await signOut('gus', gus);

  // 5. ada (acme=admin): acme's key registry; she revokes a till, and the revocation reaches
  // the store.
  const ada = await signIn('ada');
  await tab('Keys').click();
  const keyRows = page.getByTestId('key-row');
  await keyRows.first().waitFor({ timeout: T });
  // s1-till-1 is the till store 1 enrolled itself and reported up through its region.
  await keyRows.nth(2).waitFor({ timeout: T });
  assert.equal(await keyRows.count(), 3, 's1-till-1, till-7 and till-8');
  assert.match(await keyRows.nth(0).textContent(), /s1-till-1.*ed25519.*as its store reports it.*s1.*Trusted/);
  assert.match(await keyRows.nth(1).textContent(), /till-7.*ed25519.*Trusted/);
  await page.getByRole('button', { name: 'Revoke till-8' }).click();
  const revokeDialog = page.getByRole('dialog');
  await revokeDialog.getByRole('button', { name: 'Revoke' }).click();
  await revokeDialog.getByText(/Say why/).waitFor();
  await revokeDialog.getByLabel('Reason').fill('till stolen from the back office');
  await revokeDialog.getByRole('button', { name: 'Revoke' }).click();
  await keyRows.nth(2).getByText(/Revoked from .*: till stolen from the back office/).waitFor({ timeout: T });
  assert.equal(await page.getByRole('button', { name: 'Revoke till-8' }).count(), 0, 'a revoked till is not offered again');
  await ask('revoked acme till-8');
  res = await api(ada, '/api/v1/keys?tenant=acme');
  const keys = (await json(res)).keys ?? [];
  assert.equal(keys.find((k) => k.agent === 'till-8')?.revoked?.reason, 'till stolen from the back office');
  assert.equal((await api(ada, '/api/v1/keys?tenant=globex')).status(), 403, 'ada may not read globex’s keys');
  say('ada: revoked till-8 in the Keys view; the revocation reached the store; globex’s keys answer 403');
  await shot('keys');
  await signOut('ada', ada);

  // Figures.
  const files = readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.js'));
  const bundle = files.reduce((n, f) => n + gzipSync(readFileSync(join(DIST, 'assets', f)), { level: 9 }).length, 0);
  const first = [...scripts.values()].filter((s) => s.phase === 'first-load');
  const firstGz = first.reduce((n, s) => n + s.gz, 0);
  const firstRaw = first.reduce((n, s) => n + s.raw, 0);
  const encodings = [...new Set([...scripts.values()].map((s) => s.encoding))].join(',');
  say(
    `FIGURES first load from localhost (cold cache): sign-in form ${cold.signin.toFixed(0)} ms after navigation start; ` +
      `fleet table ${afterSignIn.toFixed(0)} ms after Sign in; ${reload.toFixed(0)} ms after navigation start on a signed-in reload; ` +
      `JS before the sign-in form ${kb(firstGz)} KB gzipped (${kb(firstRaw)} KB as sent, ${encodings}, ${first.length} file${first.length === 1 ? '' : 's'}); ` +
      `whole bundle ${kb(bundle)} KB gzipped (${files.length} files, budget 300)`,
  );
  assert.deepEqual(consoleErrors.filter((e) => !/status of 40[13]/.test(e)), [], 'no errors in the console');
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e instanceof Error ? e.stack : e}`);
  try {
    console.error(`page at ${page.url()}:\n${(await page.locator('body').innerText()).slice(0, 3000)}`);
    const path = join(tmpdir(), 'dcs-dashboard-e2e-failure.png');
    await page.screenshot({ path });
    console.error(`screenshot of the failure: ${path}`);
  } catch {
    // the page is gone
  }
} finally {
  await browser.close();
  stdin.close();
}
process.exit(failed ? 1 : 0);
