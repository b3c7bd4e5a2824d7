// The till against the whole system (`dcs demo`: a master, a 3-node region, PostgreSQL and
// Kafka from scripts/stack): a till that is stolen while its store is cut off. Its sales go on
// at the store, which does not know yet; when the store is back, the region refuses them for
// the revocation, and the till's sync indicator lists each one with the region's reason.
//
// Needs DCS_BIN (the `dcs` binary), DCS_STACK_FLAGS (the flags file of `scripts/stack up`),
// the built till (examples/pos-web/dist) and Chromium: scripts/test.d/75-demo.sh runs it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browser, DOCS, openSession, outbox, readOutbox, sale, text, waitFor } from './harness.mjs';

const DCS = process.env.DCS_BIN;
const FLAGS = process.env.DCS_STACK_FLAGS;
const TENANT = 'acme';
const TILL = 's1-till-1';

/** Starts an open-ended demo with one store; resolves with its URLs once every process is up. */
function startDemo(dir) {
  const flags = readFileSync(FLAGS, 'utf8').split(/\s+/).filter(Boolean);
  const child = spawn(DCS, ['demo', '--dir', dir, '--stores', '1', '--rate', '1', '--summary-every-s', '5', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      const till = /browser till\s+(http:\S+#enroll=(\S+))\s+\(cashier PIN (\d+)\)/.exec(buf);
      const master = /admin dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(buf);
      if (till && master) resolve({ child, till: till[1], pin: till[3], master: master[1] });
      else if (/browser till\s+run scripts\/build-web/.test(buf)) reject(new Error('the demo serves no till: examples/pos-web/dist is not built'));
    });
    child.on('exit', (code, signal) => reject(new Error(`dcs demo exited with ${code ?? signal} before it was up:\n${buf}`)));
  });
}

/** `waitFor`, saying on a timeout what the till's sync indicator shows. */
const watch = (page, what, f, ms) => waitFor(what, f, ms).catch(async (e) => {
  throw new Error(`${e.message}; the sync indicator shows: ${await page.textContent('#sync')}`);
});

/** `dcs demo fault …` against the running demo; returns what it answered. */
const fault = (dir, ...words) => execFileSync(DCS, ['demo', '--dir', dir, 'fault', ...words], { encoding: 'utf8' });

/** The master's admin API, as the demo's admin (its token file). */
async function api(demo, dir, method, path, body) {
  const token = readFileSync(join(dir, 'master', 'admin.token'), 'utf8').trim();
  const res = await fetch(`${demo.master}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

/** The region's last acknowledged push to the master (ms), the first region's. */
const regionSynced = async (demo, dir) => (await api(demo, dir, 'GET', '/api/v1/regions')).regions[0]?.last_successful_sync_ms ?? 0;

const dir = mkdtempSync(join(tmpdir(), 'dcs-pos-region-'));
let demo;
let b;
after(async () => {
  await b?.close();
  if (demo && demo.child.exitCode === null) {
    const gone = new Promise((r) => demo.child.once('exit', r));
    demo.child.kill('SIGINT');
    await gone;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a till stolen while its store is cut off: the region refuses its sales, and the till shows why', { timeout: 240000 }, async () => {
  assert.ok(DCS && FLAGS, 'DCS_BIN and DCS_STACK_FLAGS must be set (scripts/test.d/75-demo.sh sets them)');
  demo = await startDemo(dir);
  b = await browser();
  const context = await b.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.goto(demo.till);
  await page.waitForSelector('body[data-state=ready]');
  await page.selectOption('#cashier', 'cashier-1');
  await page.fill('#pin', demo.pin);
  await page.click('#signin');
  await openSession(page);
  const sku = await page.$eval('.tile', (t) => t.dataset.sku);
  await sale(page, [sku], { tender: 'card' });
  await waitFor('the first sale to sync', async () => (await outbox(page)) === 0 && (await text(page, '#sync-state')) === 'Online', 30000);
  await waitFor('the region to answer for the store', async () => (await text(page, '#rejected-count')) === '0', 5000);

  // The store is cut off from its region; the till is reported stolen at the master.
  assert.match(fault(dir, 'offline', '1'), /store 1 is offline/);
  const revoked = await api(demo, dir, 'POST', `/api/v1/keys/${TENANT}/${TILL}/revoke`, { reason: 'till stolen', from_ms: Date.now() });
  // Wait until the region has taken two acknowledged pushes after the revocation: the
  // master's answer to the first carries it down.
  const t0 = Date.now();
  let seen = 0;
  let last = await regionSynced(demo, dir);
  await waitFor('the revocation to reach the region', async () => {
    const now = await regionSynced(demo, dir);
    if (now > Math.max(last, t0)) {
      seen += 1;
      last = now;
    }
    return seen >= 2;
  }, 60000);
  console.log(`[region e2e] revoked ${TILL} at master position ${revoked.position}; the region synced twice after it in ${Date.now() - t0} ms`);

  // The store does not know yet: it takes the till's sales, which queue for the region. (The
  // till is offline while it sells them, so that their sealed events can be counted.)
  await context.setOffline(true);
  for (let i = 0; i < 2; i++) await sale(page, [sku], { tender: 'cash' });
  const events = (await page.evaluate(readOutbox)).reduce((n, r) => n + r.sealed.length, 0);
  await context.setOffline(false);
  await watch(page, 'the store to take the two sales', async () => (await outbox(page)) === 0, 20000);
  assert.equal(await text(page, '#rejected-count'), '0', 'nothing is refused while the store is cut off');

  // Back online: the region refuses both for the revocation, and the till lists them.
  assert.match(fault(dir, 'online', '1'), /store 1 is back online/);
  // Every event of the two sales (a sale is several events) is refused, each with the reason.
  const refused = () => page.$$eval('#rejected li', (ls) => ls.map((l) => l.textContent));
  await watch(page, 'the region to refuse the two sales', async () => (await refused()).length === events, 60000);
  await page.click('#rejected summary');
  const reasons = await refused();
  assert.equal(await text(page, '#rejected-count'), String(reasons.length));
  for (const r of reasons) assert.match(r, /^[0-9a-f]{32}: refused by the region: agent s1-till-1 of tenant acme is revoked from .*\(till stolen\)/, r);
  console.log(`[region e2e] the region refused the ${reasons.length} events of the 2 sales (${events} sealed); the till lists each with the reason`);
  await page.screenshot({ path: join(DOCS, 'pos-region-refused.png') });

  // Once the revocation has come down to the store, the store refuses the till itself.
  await sale(page, [sku], { tender: 'card' });
  await watch(page, 'the store to refuse the till', async () => /refuses this till/.test(await page.textContent('#sync')), 60000);
  assert.equal((await refused()).length, events, 'only the two sales are listed as refused');
  await context.close();
});
