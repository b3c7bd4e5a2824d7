// Payment: cash (with the change to give), card, or gift card; then the sale is sealed.

import type { Tender } from '../db.js';
import { change, format, parse } from '../money.js';
import type { Ctx } from './ctx.js';
import { h, mount, note } from './dom.js';

export function pay(ctx: Ctx): void {
  const cur = ctx.app.currency;
  const total = ctx.cart.totals().total;
  let tender: Tender = 'cash';
  const cash = h('input', { id: 'tendered', inputmode: 'decimal', value: format(total, cur).split(' ')[0] });
  const gift = h('input', { id: 'gift-card', placeholder: 'Gift card number' });
  const changeOut = h('p', { id: 'change' });
  const detail = h('div');
  const msg = h('div');
  const showChange = () => {
    try { mount(changeOut, `Change: ${format(change(parse(cash.value, cur), total, cur), cur)}`); } catch (e) { mount(changeOut, (e as Error).message); }
  };
  cash.addEventListener('input', showChange);
  const pick = (t: Tender) => {
    tender = t;
    for (const b of tenders.querySelectorAll('button')) b.classList.toggle('on', b.dataset.tender === t);
    if (t === 'cash') { mount(detail, h('label', {}, `Cash received (${cur}) `, cash), changeOut); showChange(); }
    else if (t === 'giftCard') mount(detail, h('label', {}, 'Gift card ', gift));
    else mount(detail, h('p', {}, 'Present the card on the card terminal.'));
  };
  const tenders = h('div', { class: 'filter' }, ...(['cash', 'card', 'giftCard'] as Tender[]).map((t) =>
    h('button', { type: 'button', class: 'chip', 'data-tender': t, onclick: () => pick(t) }, t === 'giftCard' ? 'Gift card' : t[0].toUpperCase() + t.slice(1))));
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const button = (ev.target as HTMLFormElement).querySelector('button[type=submit]') as HTMLButtonElement;
    try {
      const p: { tendered?: bigint; giftCard?: string } = {};
      if (tender === 'cash') { p.tendered = parse(cash.value, cur); change(p.tendered, total, cur); }
      if (tender === 'giftCard') { p.giftCard = gift.value.trim(); if (!p.giftCard) throw new Error('Enter the gift card number'); }
      button.disabled = true;
      const receipt = await ctx.app.sell(ctx.cart, tender, p);
      ctx.cart.clear();
      await ctx.sync.counts();
      void ctx.sync.drain();
      ctx.go({ name: 'receipt', receipt });
    } catch (e) {
      button.disabled = false;
      mount(msg, note((e as Error).message));
    }
  };
  mount(ctx.root, h('form', { class: 'panel narrow', onsubmit: submit },
    h('h2', {}, `Pay ${format(total, cur)}`),
    tenders, detail,
    h('button', { id: 'confirm-pay', class: 'primary', type: 'submit' }, 'Complete sale'),
    h('button', { type: 'button', onclick: () => ctx.go({ name: 'sell' }) }, 'Back to cart'),
    msg));
  pick('cash');
}
