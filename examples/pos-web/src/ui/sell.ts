// The selling screen: the product grid, SKU entry and the cart.

import type { CatalogProduct } from '../../gen/dcs/v1/pos_pb.js';
import type { OutboxRecord } from '../db.js';
import { onShelf } from '../stock.js';
import type { Ctx } from './ctx.js';
import { cartPanel } from './cart.js';
import { h, mount } from './dom.js';
import { grid } from './grid.js';

export async function sell(ctx: Ctx): Promise<void> {
  const products = (await ctx.db.get<CatalogProduct[]>('catalog')) ?? ctx.app.provision.products;
  const synced = (await ctx.db.get<Record<string, bigint>>('stock')) ?? {};
  const stock = onShelf(synced, await ctx.db.all<OutboxRecord>('outbox'));
  const cart = ctx.cart;
  const panel = cartPanel(cart, () => ctx.go({ name: 'pay' }));
  const add = (sku: string, qty = 1) => {
    try { cart.add(sku, qty); panel.redraw(); } catch (e) { panel.redraw((e as Error).message); }
  };
  const sku = h('input', { id: 'sku', placeholder: 'SKU', autocomplete: 'off' });
  const qty = h('input', { id: 'sku-qty', type: 'number', value: '1', 'aria-label': 'Units' });
  const entry = h('form', { class: 'entry', onsubmit: (ev: Event) => { ev.preventDefault(); add(sku.value, Number(qty.value)); sku.value = ''; qty.value = '1'; sku.focus(); } },
    sku, ' × ', qty, h('button', { id: 'add-sku', type: 'submit' }, 'Add'));
  mount(ctx.root, h('div', { class: 'sell' },
    h('div', {}, entry, grid(products, stock, ctx.app.currency, (s) => add(s))),
    panel.el));
}

