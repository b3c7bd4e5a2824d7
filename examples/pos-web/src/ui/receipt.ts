// A receipt (sale or refund), printable: the print stylesheet shows only `.receipt`.

import type { ReceiptRecord } from '../db.js';
import { format } from '../money.js';
import type { Ctx } from './ctx.js';
import { h, mount } from './dom.js';

const TENDERS = { cash: 'Cash', card: 'Card', giftCard: 'Gift card' };

export function receipt(ctx: Ctx, r: ReceiptRecord): void {
  const cur = r.currency;
  const p = ctx.app.provision;
  const row = (label: string, amount: bigint, id?: string) => [h('dt', {}, label), h('dd', id ? { id } : {}, format(amount, cur))];
  mount(ctx.root,
    h('article', { class: 'receipt', id: 'receipt', 'data-id': r.id },
      h('header', {}, h('strong', {}, `${p.tenant} · ${p.branch}`), h('br'), `Till ${p.agentId} · cashier ${r.cashier}`, h('br'), new Date(r.at).toLocaleString()),
      h('h2', {}, r.kind === 'sale' ? `Receipt ${r.id}` : `Refund ${r.id}`),
      r.kind === 'refund' ? h('p', {}, `Against receipt ${r.saleId}: ${r.reason}`) : null,
      h('table', {}, ...r.lines.map((l) => h('tr', {},
        h('td', {}, `${l.quantity} × ${l.name}`, h('br'), h('small', {}, `${l.sku} @ ${format(l.unitPrice, cur)}${l.discount ? `, -${format(l.discount, cur)}` : ''}`)),
        h('td', { class: 'amount' }, format(l.gross, cur))))),
      h('dl', { class: 'totals' },
        ...(r.kind === 'sale' ? row('Subtotal', r.subtotal) : []),
        ...(r.discount ? row('Discount', -r.discount) : []),
        ...row('Tax', r.tax, 'receipt-tax'),
        ...row(r.kind === 'sale' ? 'Total' : 'Refunded', r.total, 'receipt-total'),
        h('dt', {}, 'Paid by'), h('dd', {}, TENDERS[r.tender] + (r.giftCard ? ` ${r.giftCard}` : '')),
        ...(r.tendered !== undefined ? row('Cash received', r.tendered) : []),
        ...(r.change !== undefined ? row('Change', r.change, 'receipt-change') : []))),
    h('div', { class: 'actions no-print' },
      h('button', { id: 'print', onclick: () => print() }, 'Print'),
      r.kind === 'sale' ? h('button', { id: 'refund-this', onclick: () => ctx.go({ name: 'refund', receiptId: r.id }) }, 'Refund…') : null,
      h('button', { id: 'new-sale', class: 'primary', onclick: () => ctx.go({ name: 'sell' }) }, 'New sale')));
}
