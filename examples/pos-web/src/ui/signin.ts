// Sign in: the cashier picks their name and types their PIN, checked offline against the
// store's signed cashier list (its signature verified with the store's public key).

import { checkPin, verifyCashiers } from '@dcs/wasm';
import type { Ctx } from './ctx.js';
import { h, mount, note } from './dom.js';

export function signin(ctx: Ctx): void {
  const p = ctx.app.provision;
  let cashiers: Array<{ id: string; name: string; pinHash: string }>;
  try {
    cashiers = verifyCashiers(p.cashiers, p.cashiersSignature, ctx.app.enrollment.storePublicKey);
  } catch (e) {
    mount(ctx.root, h('h2', {}, 'Sign in'), note(`The store's cashier list is not signed by this store: ${(e as Error).message}. Nobody can sign in.`));
    return;
  }
  const who = h('select', { id: 'cashier' }, ...cashiers.map((c) => h('option', { value: c.id }, c.name)));
  const pin = h('input', { id: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', placeholder: 'PIN' });
  const msg = h('div');
  const submit = (ev: Event) => {
    ev.preventDefault();
    const c = cashiers.find((x) => x.id === who.value);
    if (!c || !checkPin(c.pinHash, pin.value)) {
      pin.value = '';
      mount(msg, note('Wrong PIN'));
      return;
    }
    ctx.app.cashier = { id: c.id, name: c.name };
    ctx.go(ctx.app.session ? { name: 'sell' } : { name: 'open' });
  };
  mount(ctx.root,
    h('form', { class: 'panel narrow', onsubmit: submit },
      h('h2', {}, 'Sign in'),
      cashiers.length ? h('label', {}, 'Cashier ', who) : note('The store has no cashiers yet (dcs-local cashier add).'),
      h('label', {}, 'PIN ', pin),
      h('button', { id: 'signin', type: 'submit' }, 'Sign in'),
      msg));
  pin.focus();
}
