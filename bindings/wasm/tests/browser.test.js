// Chromium suite: the shared cases against the web build, and the IndexedDB offline queue across
// reloads, in headless Chromium driven by playwright-core (no browser download: Debian's chromium).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer } from './server.js';

const CHROMIUM = process.env.DCS_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let server;
let browser;
let page;
const pageErrors = [];

/** Loads the test page and waits until the module is instantiated. */
async function load() {
  await page.goto(`${server.url}/tests/browser/index.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30_000 });
}

before(async () => {
  server = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
  page.on('crash', () => pageErrors.push('the page crashed'));
  await load();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('Chromium: shared cases (API, bad input, vectors)', async (t) => {
  const results = await page.evaluate(() => window.runCases());
  assert.ok(results.length >= 10, `ran ${results.length} cases`);
  for (const r of results) {
    await t.test(r.name, () => {
      if (!r.ok) throw new Error(r.error);
    });
  }
  assert.deepEqual(pageErrors, [], 'no uncaught page errors or crashes');
});

test('Chromium: the IndexedDB queue fills offline, keeps events across reloads and drains them in order', async () => {
  const name = `dcs-test-queue-${Date.now()}`;
  await page.context().setOffline(true); // the till lost its network: building and queueing still work
  const filled = await page.evaluate(async (name) => {
    if (navigator.onLine) throw new Error('the page should be offline');
    const q = await window.dcs.OfflineQueue.open({ name });
    const seqs = [];
    for (const n of [1, 2, 3]) seqs.push(await q.enqueueEvent(window.makeEvent(`sale-${n}`, n)));
    const again = await q.enqueueEvent(window.makeEvent('sale-1', 1)); // a retried enqueue
    const size = await q.size();
    q.close();
    return { seqs, again, size };
  }, name);
  await page.context().setOffline(false);
  assert.equal(filled.size, 3, 'three events queued');
  assert.equal(filled.again, filled.seqs[0], 'a repeated idempotency key is not queued twice');
  assert.ok(filled.seqs[0] < filled.seqs[1] && filled.seqs[1] < filled.seqs[2], 'increasing sequence numbers');

  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  const second = await page.evaluate(async (name) => {
    const { OfflineQueue, Event } = window.dcs;
    const q = await OfflineQueue.open({ name });
    const entries = await q.peek(10);
    const decoded = entries.map((e) => [e.key, Event.fromBytes(e.bytes).idempotencyKey, Event.fromBytes(e.bytes).amount.minor.toString()]);
    let failure = null;
    try {
      await q.drain(async () => {
        throw new Error('the regional agent is unreachable');
      });
    } catch (e) {
      failure = e.message;
    }
    const afterFailure = await q.size();
    await q.ack([entries[0].seq]); // the caller confirms the first one only
    const afterAck = await q.size();
    q.close();
    return { decoded, failure, afterFailure, afterAck };
  }, name);
  assert.deepEqual(second.decoded, [['sale-1', 'sale-1', '100'], ['sale-2', 'sale-2', '200'], ['sale-3', 'sale-3', '300']], 'events survive a reload, in order, decodable');
  assert.equal(second.failure, 'the regional agent is unreachable', 'drain rethrows the send error');
  assert.equal(second.afterFailure, 3, 'nothing is removed when send fails');
  assert.equal(second.afterAck, 2, 'ack removes only the confirmed entry');

  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  const third = await page.evaluate(async (name) => {
    const q = await window.dcs.OfflineQueue.open({ name });
    const before = await q.size();
    const sent = [];
    const delivered = await q.drain(async (batch) => sent.push(batch.map((e) => e.key)), { batchSize: 1 });
    const after = await q.size();
    q.close();
    return { before, sent, delivered, after };
  }, name);
  assert.equal(third.before, 2, 'the acknowledged entry stayed removed after a reload');
  assert.deepEqual(third.sent, [['sale-2'], ['sale-3']], 'drain hands out the rest oldest first');
  assert.equal(third.delivered, 2);
  assert.equal(third.after, 0);

  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  const last = await page.evaluate(async (name) => {
    const q = await window.dcs.OfflineQueue.open({ name });
    const n = await q.size();
    let bad = null;
    try {
      await q.enqueue('not bytes');
    } catch (e) {
      bad = `${e.name}: ${e.message}`;
    }
    q.close();
    return { n, bad };
  }, name);
  assert.equal(last.n, 0, 'a drained queue stays empty after a reload');
  assert.match(last.bad, /TypeError: queue entries must be Uint8Array bytes, got string/);
  assert.deepEqual(pageErrors, [], 'no uncaught page errors or crashes');
});
