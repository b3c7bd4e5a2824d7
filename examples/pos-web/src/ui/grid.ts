// The product grid: category filter, search, one button per product at its synced price.

import type { CatalogProduct } from '../../gen/dcs/v1/pos_pb.js';
import { format } from '../money.js';
import { h, mount } from './dom.js';

export function grid(products: CatalogProduct[], stock: Record<string, bigint>, currency: string, onPick: (sku: string) => void): HTMLElement {
  let category = '';
  let query = '';
  const tiles = h('div', { class: 'tiles', id: 'tiles' });
  const categories = [...new Set(products.map((p) => p.category))].sort();
  const filter = h('div', { class: 'filter', role: 'group', 'aria-label': 'Category' });
  const search = h('input', { id: 'search', type: 'search', placeholder: 'Search products', oninput: () => { query = search.value.toLowerCase(); draw(); } });
  const draw = () => {
    mount(filter, ...['', ...categories].map((c) =>
      h('button', { class: c === category ? 'chip on' : 'chip', 'data-category': c, onclick: () => { category = c; draw(); } }, c || 'All')));
    const shown = products.filter((p) => (!category || p.category === category) &&
      (!query || p.name.toLowerCase().includes(query) || p.sku.toLowerCase().includes(query)));
    mount(tiles, ...shown.map((p) =>
      h('button', { class: 'tile', 'data-sku': p.sku, onclick: () => onPick(p.sku) },
        h('strong', {}, p.name),
        h('span', { class: 'sku' }, p.sku),
        h('span', { class: 'price' }, format(p.unitPrice?.minorUnits ?? 0n, currency)),
        p.sku in stock ? h('span', { class: 'stock' }, `${stock[p.sku]} on hand`) : null)));
    if (!shown.length) tiles.append(h('p', { class: 'muted' }, 'No product matches'));
  };
  draw();
  return h('section', { class: 'grid' }, h('div', { class: 'bar' }, filter, search), tiles);
}
