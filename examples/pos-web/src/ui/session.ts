// Opening a session with a counted float, and closing it with the counted cash: the engine
// gives the cash the drawer should hold and the variance.

import { format, parse } from '../money.js';
import type { Ctx } from './ctx.js';
import { h, mount, note } from './dom.js';

export function openSession(ctx: Ctx): void {
  const cur = ctx.app.currency;
  const float = h('input', { id: 'float', inputmode: 'decimal', value: '100.00' });
  const msg = h('div');
  const submit = async (ev: Event) => {
    ev.preventDefault();
    try {
      await ctx.app.openSession(ctx.app.cashier!.id, parse(float.value, cur));
      await ctx.sync.counts();
      void ctx.sync.drain();
      ctx.go({ name: 'sell' });
    } catch (e) {
      mount(msg, note((e as Error).message));
    }
  };
  mount(ctx.root,
    h('form', { class: 'panel narrow', onsubmit: submit },
      h('h2', {}, 'Open a session'),
      h('p', {}, `Cashier ${ctx.app.cashier?.name}. Count the float in the drawer.`),
      h('label', {}, `Opening float (${cur}) `, float),
      h('button', { id: 'open-session', type: 'submit' }, 'Open session'),
      msg));
}

export function closeSession(ctx: Ctx): void {
  const cur = ctx.app.currency;
  const counted = h('input', { id: 'counted', inputmode: 'decimal', placeholder: '0.00' });
  const msg = h('div');
  const submit = async (ev: Event) => {
    ev.preventDefault();
    try {
      const s = await ctx.app.closeSession(parse(counted.value, cur));
      await ctx.sync.counts();
      void ctx.sync.drain();
      const v = s.variance ?? 0n;
      mount(ctx.root,
        h('section', { class: 'panel narrow', id: 'closed' },
          h('h2', {}, `Session ${s.id} closed`),
          h('dl', {},
            h('dt', {}, 'Opening float'), h('dd', {}, format(s.openingFloat, cur)),
            h('dt', {}, 'Expected in drawer'), h('dd', { id: 'expected' }, format(s.expected ?? 0n, cur)),
            h('dt', {}, 'Counted'), h('dd', { id: 'counted-amount' }, format(s.counted ?? 0n, cur)),
            h('dt', {}, 'Variance'), h('dd', { id: 'variance', class: v < 0n ? 'short' : '' }, `${format(v, cur)}${v < 0n ? ' (short)' : v > 0n ? ' (over)' : ''}`)),
          h('button', { id: 'to-summary', onclick: () => ctx.go({ name: 'summary' }) }, 'End-of-day summary'),
          h('button', { onclick: () => ctx.go({ name: 'signin' }) }, 'Sign in')));
    } catch (e) {
      mount(msg, note((e as Error).message));
    }
  };
  mount(ctx.root,
    h('form', { class: 'panel narrow', onsubmit: submit },
      h('h2', {}, 'Close the session'),
      h('p', {}, `Session ${ctx.app.session?.id ?? '(none open)'}: count the cash in the drawer.`),
      h('label', {}, `Counted cash (${cur}) `, counted),
      h('button', { id: 'close-session', type: 'submit' }, 'Close session'),
      msg));
}
