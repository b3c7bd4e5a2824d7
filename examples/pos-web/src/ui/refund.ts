// A refund against a receipt: never more units than are left to refund on it.

import type { Tender } from '../db.js';
import { checkRefund, refundable, refundAmounts } from '../refund.js';
import { format } from '../money.js';
import type { Ctx } from './ctx.js';
import { h, mount, note } from './dom.js';

export function refund(ctx: Ctx, receiptId?: string): void {
  const id = h('input', { id: 'refund-receipt', placeholder: 'Receipt number', value: receiptId ?? '' });
  const body = h('div');
  const find = async (ev?: Event) => {
    ev?.preventDefault();
    const r = await ctx.db.receipt(id.value.trim());
    if (!r || r.kind !== 'sale') return mount(body, note(`No sale with receipt number ${id.value.trim() || '(empty)'} on this till`));
    const cur = r.currency;
    const left = refundable(r.lines, r.refunded ?? {});
    const inputs = r.lines.map((l) => h('input', { class: 'refund-qty', 'data-sku': l.sku, type: 'number', value: '0', 'aria-label': `Units of ${l.name} to refund` }));
    const reason = h('input', { id: 'refund-reason', value: 'customer return' });
    const tender = h('select', { id: 'refund-tender' }, h('option', { value: r.tender }, `back to ${r.tender}`), ...['cash', 'card', 'giftCard'].filter((t) => t !== r.tender).map((t) => h('option', { value: t }, t)));
    const msg = h('div');
    const submit = async (e: Event) => {
      e.preventDefault();
      try {
        const wanted = Object.fromEntries(r.lines.map((l, i) => [l.sku, Number(inputs[i].value)]));
        const lines = checkRefund(r.lines, r.refunded ?? {}, wanted);
        const done = await ctx.app.refund(r, lines, tender.value as Tender, reason.value.trim() || 'refund');
        await ctx.sync.counts();
        void ctx.sync.drain();
        ctx.go({ name: 'receipt', receipt: done });
      } catch (err) {
        mount(msg, note((err as Error).message));
      }
    };
    mount(body, h('form', { onsubmit: submit },
      h('table', {}, h('tr', {}, h('th', {}, 'Item'), h('th', {}, 'Sold'), h('th', {}, 'Left'), h('th', {}, 'Refund')),
        ...r.lines.map((l, i) => h('tr', {}, h('td', {}, `${l.name} (${format(l.gross, cur)})`), h('td', {}, l.quantity), h('td', {}, left[l.sku]), h('td', {}, inputs[i])))),
      h('label', {}, 'Reason ', reason), h('label', {}, 'Tender ', tender),
      h('p', { class: 'muted' }, `Refunded so far: ${format(refundAmounts(r.lines, {}, Object.entries(r.refunded ?? {})).total, cur)}`),
      h('button', { id: 'confirm-refund', class: 'primary', type: 'submit' }, 'Refund'),
      msg));
  };
  mount(ctx.root, h('section', { class: 'panel' },
    h('h2', {}, 'Refund'),
    h('form', { class: 'entry', onsubmit: find }, id, h('button', { id: 'find-receipt', type: 'submit' }, 'Find receipt')),
    body));
  if (receiptId) void find();
}
