// Boot: one tab per till, the WASM module, the replica, enrollment and provision, then screens.

import { init } from '@dcs/wasm';
import { posClient } from './api.js';
import { CartModel, taxEngine } from './cart.js';
import { TillDb } from './db.js';
import { enroll, type Enrollment } from './enroll.js';
import { fromFragment } from './fragment.js';
import { message } from './errors.js';
import { holdTillLock } from './lock.js';
import { Sync } from './sync.js';
import { TillApp } from './till.js';
import { syncBar } from './ui/bar.js';
import type { Ctx, Screen } from './ui/ctx.js';
import { h, mount, note } from './ui/dom.js';
import { pay } from './ui/pay.js';
import { receipt } from './ui/receipt.js';
import { refund } from './ui/refund.js';
import { closeSession, openSession } from './ui/session.js';
import { sell } from './ui/sell.js';
import { signin } from './ui/signin.js';
import { summary } from './ui/summary.js';
import './style.css';

const root = document.getElementById('screen')!;
const nav = document.getElementById('nav')!;

async function boot(): Promise<void> {
  if ('serviceWorker' in navigator) void navigator.serviceWorker.register('./sw.js');
  if (!(await holdTillLock())) {
    document.body.dataset.state = 'locked';
    mount(root, note('This till is open in another tab. Close this tab and use the other one: this one sells nothing.'));
    return;
  }
  await init();
  const db = await TillDb.open();
  syncBar(document.getElementById('sync')!);
  let enrollment = await db.get<Enrollment>('enrollment');
  const code = fromFragment(location.hash);
  if (code && code !== enrollment?.code) enrollment = await enroll(db, code);
  if (code) history.replaceState(null, '', location.pathname);
  if (!enrollment) return enrollScreen(db);
  const pos = posClient(location.origin, enrollment.token);
  let app = await TillApp.load(db, enrollment);
  let sync: Sync;
  if (!app) {
    // First start: the till needs a provision before it can sell, so it must be online once.
    try {
      const p = await pos.provisionTill({});
      await TillApp.saveProvision(db, p);
      app = (await TillApp.load(db, enrollment))!;
    } catch (e) {
      mount(root, note(`This till has never reached the store's daemon, so it cannot sell yet: ${message(e)}. Reload when the daemon is up.`));
      return;
    }
    sync = new Sync(app, pos, db);
  } else {
    sync = new Sync(app, pos, db);
    try { await sync.provision(); } catch { /* offline: the saved provision and lease */ }
  }
  const products = () => new Map(app!.provision.products.map((p) => [p.sku, p]));
  const cart = new CartModel(products(), taxEngine(app.provision.tax), app.currency);
  const ctx: Ctx = { app, sync, pos, db, cart, root, go };
  sync.onCatalog = (ps) => { cart.products = new Map(ps.map((p) => [p.sku, p])); };
  void sync.start();

  function go(s: Screen): void {
    drawNav(ctx, s);
    document.body.dataset.screen = s.name;
    switch (s.name) {
      case 'signin': return signin(ctx);
      case 'open': return openSession(ctx);
      case 'sell': return void sell(ctx);
      case 'pay': return pay(ctx);
      case 'receipt': return receipt(ctx, s.receipt);
      case 'refund': return refund(ctx, s.receiptId);
      case 'close': return closeSession(ctx);
      case 'summary': return void summary(ctx);
    }
  }
  go({ name: 'signin' });
  document.body.dataset.state = 'ready';
  performance.mark('till-ready');
}

function drawNav(ctx: Ctx, s: Screen): void {
  const signedIn = ctx.app.cashier !== undefined && s.name !== 'signin';
  const link = (label: string, to: Screen, id: string) => h('button', { id, class: s.name === to.name ? 'on' : '', onclick: () => ctx.go(to) }, label);
  mount(nav, ...(signedIn ? [
    h('span', { class: 'who' }, `${ctx.app.cashier!.name} · ${ctx.app.session ? `session ${ctx.app.session.id}` : 'no session'}`),
    ctx.app.session ? link('Sell', { name: 'sell' }, 'nav-sell') : link('Open session', { name: 'open' }, 'nav-open'),
    ctx.app.session ? link('Refund', { name: 'refund' }, 'nav-refund') : null,
    ctx.app.session ? link('Close session', { name: 'close' }, 'nav-close') : null,
    link('Day summary', { name: 'summary' }, 'nav-summary'),
    h('button', { id: 'nav-signout', onclick: () => { ctx.app.cashier = undefined; ctx.go({ name: 'signin' }); } }, 'Sign out'),
  ] : []));
}

function enrollScreen(db: TillDb): void {
  const code = h('textarea', { id: 'enroll-code', rows: 3, placeholder: 'enrollment code from `dcs-local till add`' });
  const msg = h('div');
  mount(root, h('form', { class: 'panel narrow', onsubmit: async (ev: Event) => {
    ev.preventDefault();
    try { await enroll(db, code.value); location.reload(); } catch (e) { mount(msg, note(`Not an enrollment code: ${(e as Error).message}`)); }
  } }, h('h2', {}, 'Enroll this till'), h('p', {}, 'Paste the code printed once by dcs-local till add.'), code, h('button', { type: 'submit' }, 'Enroll'), msg));
  document.body.dataset.state = 'ready';
}

boot().catch((e) => {
  mount(root, note(`The till could not start: ${message(e)}`));
});
