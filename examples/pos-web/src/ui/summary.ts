// The end-of-day summary: the daemon's (GetDaySummary) when it answers, otherwise computed
// from this till's own receipts; the screen says which.

import type { ReceiptRecord } from '../db.js';
import { format } from '../money.js';
import { businessDay, daySummary, type DayTotals } from '../summary.js';
import type { Ctx } from './ctx.js';
import { h, mount } from './dom.js';

export async function summary(ctx: Ctx): Promise<void> {
  const p = ctx.app.provision;
  const cur = p.currency;
  let totals: DayTotals;
  let source: string;
  try {
    const d = await ctx.pos.getDaySummary({ day: '' });
    totals = { day: d.day, salesCount: Number(d.salesCount), refundCount: Number(d.refundCount), gross: d.gross?.minorUnits ?? 0n, refunds: d.refunds?.minorUnits ?? 0n, net: d.net?.minorUnits ?? 0n, tax: d.tax?.minorUnits ?? 0n };
    source = 'From the store (dcs-local GetDaySummary): every till of the store.';
  } catch {
    const day = businessDay(Date.now(), p.utcOffsetMinutes);
    totals = daySummary(await ctx.db.all<ReceiptRecord>('receipts'), day, p.utcOffsetMinutes);
    source = 'Offline: computed on this till from its own receipts only.';
  }
  const row = (label: string, value: string, id: string) => [h('dt', {}, label), h('dd', { id }, value)];
  mount(ctx.root, h('section', { class: 'panel narrow', id: 'summary' },
    h('h2', {}, `End of day ${totals.day}`),
    h('p', { id: 'summary-source', class: 'muted' }, source),
    h('dl', {},
      ...row('Sales', String(totals.salesCount), 'sum-sales'),
      ...row('Refunds', String(totals.refundCount), 'sum-refunds'),
      ...row('Gross', format(totals.gross, cur), 'sum-gross'),
      ...row('Refunded', format(totals.refunds, cur), 'sum-refunded'),
      ...row('Net (without tax)', format(totals.net, cur), 'sum-net'),
      ...row('Tax', format(totals.tax, cur), 'sum-tax')),
    h('button', { onclick: () => ctx.go({ name: ctx.app.session ? 'sell' : 'signin' }) }, 'Back')));
}
