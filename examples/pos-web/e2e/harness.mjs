// What the till's browser tests share: the real dcs-local (init, till add, cashier add, run
// serving dist/ on 127.0.0.1), a Connect-ES client to check what the daemon holds, headless
// Chromium through playwright-core, and the steps a cashier takes.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { PosService } from '../gen/dcs/v1/pos_pb.js';

const here = dirname(fileURLToPath(import.meta.url));
export const APP = join(here, '..');
export const DIST = join(APP, 'dist');
export const DOCS = join(APP, '..', '..', 'docs');
const BIN = process.env.DCS_LOCAL_BIN ?? join(APP, '..', '..', 'target', 'debug', 'dcs-local');

/** Prints a measured figure; with POS_WEB_FIGURES set, also appends it to that file. */
export function figure(name, value) {
  const line = `[pos-web figure] ${name}=${value}`;
  console.log(line);
  if (process.env.POS_WEB_FIGURES) appendFileSync(process.env.POS_WEB_FIGURES, `${line}\n`);
}

/** A fresh store: init, one self-sealing till and one cashier (Ana, PIN 1234). */
export function makeStore() {
  const dir = mkdtempSync(join(tmpdir(), 'dcs-pos-web-'));
  const init = execFileSync(BIN, ['init', '--data-dir', dir], { encoding: 'utf8' });
  const token = init.split('\n').find((l) => l.includes('token')).split('): ')[1].trim();
  const till = execFileSync(BIN, ['till', 'add', '--data-dir', dir, '--id', 'till-1'], { encoding: 'utf8' });
  const code = /enrollment code \(shown once\): (\S+)/.exec(till)[1];
  execFileSync(BIN, ['cashier', 'add', '--data-dir', dir, '--id', 'c-1', '--name', 'Ana', '--pin', '1234']);
  return { dir, token, code };
}

/** Runs dcs-local on `dir` serving the till, on `port` (0: any); resolves once it listens. */
export function startDaemon(dir, port = 0) {
  const child = spawn(BIN, ['run', '--data-dir', dir], {
    env: { ...process.env, DCS_LISTEN__POS: `127.0.0.1:${port}`, DCS_LISTEN__ADMIN: '127.0.0.1:0', DCS_WEB__STATIC_DIR: DIST, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      const line = buf.split('\n').find((l) => l.startsWith('dcs-local listening'));
      if (line) {
        const pos = /pos=(\S+)/.exec(line)[1];
        resolve({ child, pos, port: Number(pos.split(':')[1]), url: `http://${pos}` });
      }
    });
    child.on('exit', (code, signal) => reject(new Error(`dcs-local exited with ${code ?? signal}`)));
  });
}

export function stop(daemon, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) return resolve();
    daemon.child.once('exit', () => resolve());
    daemon.child.kill(signal);
  });
}

/** A client of the daemon with a thin terminal's token, to check what it stored. */
export function daemonClient(url, token) {
  const auth = (next) => async (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  return createClient(PosService, createGrpcWebTransport({ baseUrl: url, interceptors: [auth] }));
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.DCS_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens the till enrolled with `code` in a fresh context, signed in as Ana. */
export async function openTill(b, daemon, code) {
  const context = await b.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.goto(`${daemon.url}/#enroll=${code}`);
  await signIn(page);
  return { context, page };
}

export async function signIn(page) {
  await page.waitForSelector('body[data-state=ready]');
  await page.selectOption('#cashier', 'c-1');
  await page.fill('#pin', '1234');
  await page.click('#signin');
}

export async function openSession(page, float = '100.00') {
  await page.fill('#float', float);
  await page.click('#open-session');
  await page.waitForSelector('#tiles');
}

/** Rings up `skus` (tile taps), pays (cash: `tendered` or exact), returns the receipt id. */
export async function sale(page, skus, { tender = 'cash', tendered } = {}) {
  for (const sku of skus) await page.click(`.tile[data-sku="${sku}"]`);
  await page.click('#pay');
  await page.click(`[data-tender="${tender}"]`);
  if (tender === 'cash' && tendered) await page.fill('#tendered', tendered);
  if (tender === 'giftCard') await page.fill('#gift-card', 'GC-0001');
  await page.click('#confirm-pay');
  await page.waitForSelector('#receipt');
  const id = await page.getAttribute('#receipt', 'data-id');
  await page.click('#new-sale');
  await page.waitForSelector('#tiles');
  return id;
}

export const text = (page, sel) => page.textContent(sel).then((t) => t.trim());
export const outbox = (page) => text(page, '#outbox-depth').then(Number);

export async function waitFor(what, f, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const minor = (s) => BigInt(s.replace(/[^0-9-]/g, '')); // "12.34 USD" → 1234n

/** The app shell's first load, gzipped: every file the service worker keeps. */
export function shellGzipBytes() {
  const files = [];
  const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name)); };
  walk(DIST);
  return files.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
}

// In the page: the till's queued outbox records, and its bearer token (from its enrollment).
export const idb = (store, key) => new Promise((resolve, reject) => {
  const open = indexedDB.open('dcs-till');
  open.onsuccess = () => {
    const req = key === undefined ? open.result.transaction(store).objectStore(store).getAll() : open.result.transaction(store).objectStore(store).get(key);
    req.onsuccess = () => { open.result.close(); resolve(req.result); };
    req.onerror = () => reject(req.error);
  };
});
export const readOutbox = new Function(`return (${idb})('outbox').then((rs) => rs.map((r) => ({ stream: r.stream, sealed: r.sealed.map((b) => [...b]) })))`);
