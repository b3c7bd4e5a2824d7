// The till in headless Chromium against the real dcs-local: a store day, 20 sales offline
// with a reload, the daemon killed mid-sale, bad input, and the performance figures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { InventoryMovement } from '../gen/dcs/v1/pos_pb.js';
import {
  browser, daemonClient, DOCS, figure, makeStore, minor, openSession, openTill, outbox, sale,
  shellGzipBytes, signIn, startDaemon, stop, text, waitFor, idb, readOutbox,
} from './harness.mjs';

let b;
const daemons = [];
before(async () => { b = await browser(); });
after(async () => {
  await b?.close();
  for (const d of daemons) await stop(d);
});

async function store() {
  const s = makeStore();
  const d = await startDaemon(s.dir);
  daemons.push(d);
  return { ...s, daemon: d, client: daemonClient(d.url, s.token) };
}

const leaseLeft = new Function(`return (${idb})('kv', 'leaseLeft')`);
const tillToken = new Function(`return (${idb})('kv', 'enrollment').then((e) => e.token)`);

const drained = (page) => waitFor('the outbox to drain', async () => (await outbox(page)) === 0 && (await text(page, '#sync-state')) === 'Online', 20000);

test('a store day: sign in, session, cash sale with change, receipt, refund, close with variance, day summary', async () => {
  const { daemon, code, client } = await store();
  const { context, page } = await openTill(b, daemon, code);
  await openSession(page, '100.00');
  const tiles = () => page.$$eval('.tile', (ts) => ts.map((t) => t.dataset.sku));
  await page.click('[data-category="grocery"]');
  assert.deepEqual(await tiles(), ['COFFEE-250G'], 'the category filter');
  await page.click('[data-category=""]');
  await page.fill('#search', 'mug');
  assert.deepEqual(await tiles(), ['MUG'], 'the search');
  await page.fill('#search', '');
  assert.equal((await tiles()).length, 2);
  await page.click('.tile[data-sku="MUG"]');
  await page.click('.tile[data-sku="MUG"]');
  await page.click('.tile[data-sku="COFFEE-250G"]');
  const total = minor(await text(page, '#total'));
  assert.equal(total, 2n * 1299n + 899n + 227n, 'the engine prices the cart as dcs-local does');
  // A cart discount, priced by the WASM engine, equals dcs-local's PriceCart of the same cart.
  await page.fill('#cart-discount', '10');
  await page.press('#cart-discount', 'Tab');
  await waitFor('the discounted total', async () => minor(await text(page, '#total')) !== total);
  const priced = await client.priceCart({ cart: { lines: [{ sku: 'MUG', quantity: 2 }, { sku: 'COFFEE-250G', quantity: 1 }], discount: { kind: { case: 'percentBps', value: 1000 } } } });
  assert.equal(minor(await text(page, '#total')), priced.total.minorUnits);
  await page.fill('#cart-discount', '0');
  await page.press('#cart-discount', 'Tab');
  await waitFor('the total without discount', async () => minor(await text(page, '#total')) === total);

  // Stock received at the store reaches the till's replica on its next refresh: a merged update.
  await client.submitInventory({ idempotencyKey: 'recv-1', movement: InventoryMovement.RECEIVED, sku: 'MUG', quantity: 24n, reference: 'delivery 1' });
  await waitFor('the merged stock update', async () => Number(await text(page, '#merged')) >= 1, 8000);
  await page.click('#nav-sell');
  await page.waitForSelector('.tile[data-sku="MUG"] .stock');
  assert.equal(await text(page, '.tile[data-sku="MUG"] .stock'), '24 on hand');
  assert.equal(await page.locator('#cart tr').count(), 2, 'the cart survives a redraw');
  await page.screenshot({ path: join(DOCS, 'pos-till.png') });

  await page.click('#pay');
  await page.fill('#tendered', '50.00');
  assert.match(await text(page, '#change'), /Change: /);
  await page.click('#confirm-pay');
  await page.waitForSelector('#receipt');
  assert.equal(minor(await text(page, '#receipt-total')), total);
  assert.equal(minor(await text(page, '#receipt-change')), 5000n - total);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('#sync'), false, 'the print stylesheet shows the receipt only');
  await page.emulateMedia({ media: 'screen' });
  await page.screenshot({ path: join(DOCS, 'pos-receipt.png') });

  await page.click('#refund-this');
  await page.fill('.refund-qty[data-sku="MUG"]', '1');
  await page.click('#confirm-refund');
  await page.waitForSelector('#receipt');
  const refunded = minor(await text(page, '#receipt-total'));
  assert.equal(refunded, 1299n + 114n);

  await page.click('#nav-close');
  const counted = 10000n + total - refunded - 100n; // one unit short
  await page.fill('#counted', (Number(counted) / 100).toFixed(2));
  await page.click('#close-session');
  await page.waitForSelector('#closed');
  assert.equal(minor(await text(page, '#expected')), 10000n + total - refunded);
  assert.equal(minor(await text(page, '#variance')), -100n);
  await drained(page);

  await page.click('#to-summary');
  await page.waitForSelector('#summary');
  assert.match(await text(page, '#summary-source'), /GetDaySummary/);
  const day = await client.getDaySummary({ day: '' });
  const shown = async () => ({
    sales: BigInt(await text(page, '#sum-sales')), refunds: BigInt(await text(page, '#sum-refunds')),
    gross: minor(await text(page, '#sum-gross')), refunded: minor(await text(page, '#sum-refunded')),
    net: minor(await text(page, '#sum-net')), tax: minor(await text(page, '#sum-tax')),
  });
  const want = { sales: 1n, refunds: 1n, gross: day.gross.minorUnits, refunded: day.refunds.minorUnits, net: day.net.minorUnits, tax: day.tax.minorUnits };
  assert.equal(day.salesCount, 1n);
  assert.equal(day.gross.minorUnits, total);
  assert.deepEqual(await shown(), want);
  // Offline, the till computes the same day from its own receipts and says so.
  await context.setOffline(true);
  await waitFor('offline', async () => (await text(page, '#sync-state')) === 'Offline', 2500);
  await page.click('#nav-summary');
  await waitFor('the local summary', async () => /Offline/.test(await text(page, '#summary-source')));
  assert.deepEqual(await shown(), want);
  await context.close();
});

test('offline: 20 sales, a reload with no network, one more, then exactly those 21 reach the daemon', async () => {
  const { daemon, code, client } = await store();
  const { context, page } = await openTill(b, daemon, code);
  await openSession(page);
  await drained(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await waitFor('the service worker to control the page', () => page.evaluate(() => navigator.serviceWorker.controller !== null));

  await context.setOffline(true);
  const t0 = Date.now();
  await waitFor('offline', async () => (await text(page, '#sync-state')) === 'Offline', 2000);
  figure('offline_detect_ms', Date.now() - t0);
  const mugs = async () => {
    await page.click('#nav-sell');
    // Read in one step: the tiles re-render when the synced stock arrives, and a count then a
    // textContent could see the old tile and then wait for it for good.
    const t = await page.evaluate(() => document.querySelector('.tile[data-sku="MUG"] .stock')?.textContent ?? null);
    return t === null ? 0 : Number(t.replace(' on hand', ''));
  };
  const mugsBefore = await mugs();
  for (let i = 0; i < 20; i++) await sale(page, i % 2 ? ['MUG'] : ['COFFEE-250G', 'MUG'], { tender: ['cash', 'card', 'giftCard'][i % 3] });
  assert.equal(await outbox(page), 20);
  assert.equal(await mugs(), mugsBefore - 20, 'the tiles count the queued sales off the shelf');
  await page.screenshot({ path: join(DOCS, 'pos-offline.png') });
  const before = await page.evaluate(leaseLeft);

  await page.reload();
  await page.waitForSelector('body[data-state=ready]');
  const tti = await page.evaluate(() => performance.getEntriesByName('till-ready')[0].startTime);
  figure('tti_from_sw_cache_ms', Math.round(tti));
  assert.ok(tti < 1000, `time to interactive from the service worker's cache: ${tti} ms`);
  await signIn(page);
  await page.waitForSelector('#tiles');
  assert.equal(await outbox(page), 20, 'the outbox survived the reload');
  assert.equal(await text(page, '#sync-state'), 'Offline');
  // One more sale after the reload: the lease's count goes on from where it was (a reload
  // does not make a spent lease new).
  await sale(page, ['MUG'], { tender: 'card' });
  const queued = await page.evaluate(readOutbox);
  const after = await page.evaluate(leaseLeft);
  assert.equal(after.dataKeyId, before.dataKeyId);
  assert.equal(after.remaining, before.remaining - BigInt(queued.at(-1).sealed.length), 'the lease count resumed');
  assert.equal(queued.length, 21);
  await context.setOffline(false);
  await drained(page);
  const day = await client.getDaySummary({ day: '' });
  assert.equal(day.salesCount, 21n, 'exactly the 21 offline sales, none twice');
  // Synced: the store's own figures now hold the 21 sales, counted once.
  await waitFor('the synced stock', async () => (await mugs()) === mugsBefore - 21, 8000);
  // A retry sends the same bytes under the same keys: the daemon answers with the first result.
  const till = daemonClient(daemon.url, await page.evaluate(tillToken));
  for (const r of queued) {
    const again = await till.submitSealed({ stream: r.stream, sealed: r.sealed.map((b) => new Uint8Array(b)) });
    assert.equal(again.deduplicated, true);
  }
  await new Promise((r) => setTimeout(r, 2500)); // heartbeats go on: still 21
  assert.equal((await client.getDaySummary({ day: '' })).salesCount, 21n);
  await context.close();
});

test('the daemon killed mid-sale: offline within 2 s, selling goes on, the queue drains once; a hung daemon too', async () => {
  const s = makeStore();
  let daemon = await startDaemon(s.dir);
  daemons.push(daemon);
  const { context, page } = await openTill(b, daemon, s.code);
  await openSession(page);
  for (let i = 0; i < 3; i++) await sale(page, ['MUG']);
  await drained(page);

  await page.click('.tile[data-sku="COFFEE-250G"]'); // mid-sale
  const t0 = Date.now();
  await stop(daemon, 'SIGKILL');
  await waitFor('offline', async () => (await text(page, '#sync-state')) === 'Offline', 2000);
  figure('daemon_kill_detect_ms', Date.now() - t0);
  await page.click('#pay');
  await page.click('#confirm-pay');
  await page.waitForSelector('#receipt');
  await page.click('#new-sale');
  for (let i = 0; i < 4; i++) await sale(page, ['MUG', 'COFFEE-250G']);
  assert.equal(await outbox(page), 5);

  daemon = await startDaemon(s.dir, daemon.port);
  daemons.push(daemon);
  await drained(page);
  const client = daemonClient(daemon.url, s.token);
  assert.equal((await client.getDaySummary({ day: '' })).salesCount, 8n);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal((await client.getDaySummary({ day: '' })).salesCount, 8n, 'drained exactly once');

  // A daemon that hangs (SIGSTOP) rather than dies: the heartbeat's timeout shows it.
  const t1 = Date.now();
  daemon.child.kill('SIGSTOP');
  try {
    await waitFor('offline on a hung daemon', async () => (await text(page, '#sync-state')) === 'Offline', 2000);
    figure('daemon_hang_detect_ms', Date.now() - t1);
    await sale(page, ['MUG']);
  } finally {
    daemon.child.kill('SIGCONT');
  }
  await drained(page);
  assert.equal((await client.getDaySummary({ day: '' })).salesCount, 9n);
  await context.close();
});

test('bad input: unknown SKU, zero quantity, over-refund, a tampered outbox record, a second tab', async () => {
  const { daemon, code, client } = await store();
  const { context, page } = await openTill(b, daemon, code);
  await openSession(page);
  await page.fill('#sku', 'NOPE');
  await page.click('#add-sku');
  assert.match(await text(page, '#cart .note'), /Unknown SKU: NOPE/);
  await page.fill('#sku', 'MUG');
  await page.fill('#sku-qty', '0');
  await page.click('#add-sku');
  assert.match(await text(page, '#cart .note'), /at least 1/);
  await page.fill('#sku', 'MUG');
  await page.fill('#sku-qty', '-2');
  await page.click('#add-sku');
  assert.match(await text(page, '#cart .note'), /at least 1/);
  assert.equal(await page.locator('#cart tr').count(), 0, 'nothing went into the cart');
  await page.click('.tile[data-sku="MUG"]');
  await page.fill('.qty[data-sku="MUG"]', '0');
  await page.press('.qty[data-sku="MUG"]', 'Tab');
  assert.match(await text(page, '#cart .note'), /at least 1/);
  assert.equal(await page.inputValue('.qty[data-sku="MUG"]'), '1', 'the line keeps its units');
  await page.click('#cart .remove');
  assert.equal(await page.locator('#cart tr').count(), 0);

  const first = await sale(page, ['MUG']);
  await drained(page);
  await page.click('#nav-refund');
  await page.fill('#refund-receipt', first);
  await page.click('#find-receipt');
  await page.fill('.refund-qty[data-sku="MUG"]', '2');
  await page.click('#confirm-refund');
  assert.match(await text(page, '#screen .note'), /only 1 left to refund, 2 asked/);
  assert.equal(await outbox(page), 0, 'an over-refund seals nothing');

  await context.setOffline(true);
  await waitFor('offline', async () => (await text(page, '#sync-state')) === 'Offline', 2000);
  await page.click('#nav-sell');
  for (let i = 0; i < 3; i++) await sale(page, ['COFFEE-250G']);
  // Change one byte of the second queued sale's first event, as an attacker with the disk could.
  await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('dcs-till');
    open.onsuccess = () => {
      const tx = open.result.transaction('outbox', 'readwrite');
      const store = tx.objectStore('outbox');
      store.getAll().onsuccess = (e) => {
        const r = e.target.result.filter((x) => x.kind === 'sale')[1];
        const bytes = r.sealed[0];
        bytes[bytes.length - 1] ^= 0x01;
        store.put(r);
      };
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }));
  await context.setOffline(false);
  await waitFor('the rest to drain', async () => (await outbox(page)) === 0 && (await text(page, '#rejected-count')) === '1', 20000);
  const rejected = await text(page, '#rejected');
  assert.match(rejected, /quarantined/);
  assert.match(rejected, /Unauthenticated: .*edited on this till/);
  console.log(`quarantine message: ${rejected}`);
  assert.equal((await client.getDaySummary({ day: '' })).salesCount, 3n, 'the first sale and the two untouched ones');

  const second = await context.newPage();
  await second.goto(daemon.url);
  await second.waitForSelector('body[data-state=locked]');
  assert.match(await text(second, '#screen'), /open in another tab/);
  assert.equal(await second.locator('#tiles, #cashier').count(), 0, 'the second tab sells nothing');
  await context.close();
});

test('figures: seal + IndexedDB commit p99 over 200 sales, first-load bytes', async () => {
  const { daemon, code } = await store();
  const { context, page } = await openTill(b, daemon, code);
  await openSession(page);
  for (let i = 0; i < 200; i++) await sale(page, i % 2 ? ['MUG'] : ['COFFEE-250G', 'MUG']);
  const durations = (name) => page.evaluate((n) => performance.getEntriesByName(n).map((e) => e.duration).sort((x, y) => x - y), name);
  const q = (ms, p) => ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)].toFixed(2);
  const ms = await durations('seal-commit');
  assert.equal(ms.length, 200);
  figure('seal_commit_p50_ms', q(ms, 0.5));
  figure('seal_commit_p99_ms', q(ms, 0.99));
  figure('seal_only_p99_ms', q(await durations('seal'), 0.99));
  figure('indexeddb_commit_p99_ms', q(await durations('commit'), 0.99));
  const gz = shellGzipBytes();
  figure('first_load_gzip_bytes', gz);
  assert.ok(gz < 500 * 1024, `first load ${gz} bytes gzipped`);
  await drained(page);
  await context.close();
});
