// The cart panel: lines with units and a line discount, a cart discount, the engine's totals.

import type { CartModel } from '../cart.js';
import { format } from '../money.js';
import { h, mount, note } from './dom.js';

export function cartPanel(cart: CartModel, onPay: () => void): { el: HTMLElement; redraw: (error?: string) => void } {
  const el = h('section', { class: 'cart', id: 'cart' });
  const cur = cart.currency;
  const redraw = (error?: string) => {
    let totals;
    try {
      totals = cart.totals();
    } catch (e) {
      mount(el, h('h2', {}, 'Cart'), note((e as Error).message));
      return;
    }
    const act = (f: () => void) => () => {
      try { f(); redraw(); } catch (e) { redraw((e as Error).message); }
    };
    mount(el,
      h('h2', {}, 'Cart'),
      error ? note(error) : null,
      totals.lines.length === 0 ? h('p', { class: 'muted' }, 'Empty: tap a product or enter a SKU') : null,
      h('table', { class: 'lines' }, ...totals.lines.map((l) => {
        const line = cart.lines.find((x) => x.sku === l.sku)!;
        const qty = h('input', { class: 'qty', 'data-sku': l.sku, type: 'number', value: String(l.quantity), 'aria-label': `Units of ${l.name}` });
        qty.addEventListener('change', act(() => cart.setQuantity(l.sku, Number(qty.value))));
        const disc = h('input', { class: 'disc', type: 'number', min: '0', max: '100', value: String(line.discountBps / 100), 'aria-label': `Discount % on ${l.name}` });
        disc.addEventListener('change', act(() => cart.setLineDiscount(l.sku, Math.round(Number(disc.value) * 100))));
        return h('tr', { 'data-sku': l.sku },
          h('td', {}, l.name, h('br'), h('small', {}, `${format(l.unitPrice, cur)} each`)),
          h('td', {}, qty),
          h('td', {}, disc, '%'),
          h('td', { class: 'amount' }, format(l.gross, cur)),
          h('td', {}, h('button', { class: 'remove', title: 'Remove', onclick: act(() => cart.remove(l.sku)) }, '×')));
      })),
      totals.lines.length ? cartDiscount(cart, act) : null,
      h('dl', { class: 'totals' },
        h('dt', {}, 'Subtotal'), h('dd', {}, format(totals.subtotal, cur)),
        totals.discount ? h('dt', {}, 'Discount') : null, totals.discount ? h('dd', {}, `-${format(totals.discount, cur)}`) : null,
        ...totals.taxes.flatMap((t) => [h('dt', {}, `${t.name} ${(t.ratePpm / 10000).toFixed(2)} %`), h('dd', {}, format(t.tax, cur))]),
        h('dt', { class: 'total' }, 'Total'), h('dd', { class: 'total', id: 'total' }, format(totals.total, cur))),
      h('button', { id: 'pay', class: 'primary', disabled: totals.lines.length === 0, onclick: onPay }, 'Pay'));
  };
  redraw();
  return { el, redraw };
}

function cartDiscount(cart: CartModel, act: (f: () => void) => () => void): HTMLElement {
  const input = h('input', { id: 'cart-discount', type: 'number', min: '0', max: '100', value: String(cart.cartDiscountBps / 100) });
  input.addEventListener('change', act(() => cart.setCartDiscount(Math.round(Number(input.value) * 100))));
  return h('label', { class: 'cart-discount' }, 'Cart discount % ', input);
}
