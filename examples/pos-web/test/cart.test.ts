// The cart model over the WASM engine (the package's Node build): the totals dcs-local gives
// for the same cart (daemons/dcs-local/tests/grpc-web), and the cashier's bad input.
import { describe, expect, test } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { CatalogProductSchema, TaxCategorySchema } from '../gen/dcs/v1/pos_pb.js';
import { MoneySchema } from '../gen/dcs/v1/money_pb.js';
import { CartModel, checkQuantity, taxEngine } from '../src/cart.js';

const usd = (minorUnits: bigint) => create(MoneySchema, { minorUnits, currencyCode: 'USD', exponent: 2 });
const products = new Map([
  ['MUG', create(CatalogProductSchema, { sku: 'MUG', name: 'Mug', category: 'home', unitPrice: usd(1299n), taxCategory: 'general' })],
  ['COFFEE-250G', create(CatalogProductSchema, { sku: 'COFFEE-250G', name: 'Coffee', category: 'grocery', unitPrice: usd(899n), taxCategory: 'food' })],
]);
const tax = [
  create(TaxCategorySchema, { category: 'general', rates: [{ name: 'state', ppm: 62500 }, { name: 'city', ppm: 25000 }] }),
  create(TaxCategorySchema, { category: 'food', rates: [] }),
];
const cart = () => new CartModel(products, taxEngine(tax), 'USD');

describe('cart', () => {
  test('prices as dcs-local does', () => {
    const c = cart();
    c.add('MUG', 2);
    c.add('coffee-250g');
    const t = c.totals();
    expect(t.subtotal).toBe(2n * 1299n + 899n);
    expect(t.tax).toBe(227n);
    expect(t.total).toBe(3724n);
  });
  test('discounts come off before tax', () => {
    const c = cart();
    c.add('MUG', 2);
    c.setLineDiscount('MUG', 1000);
    const t = c.totals();
    expect(t.discount).toBe(260n); // 10 % of 25.98, half up
    expect(t.total).toBeLessThan(2598n + 227n);
  });
  test('bad input is refused and changes nothing', () => {
    const c = cart();
    expect(() => c.add('NOPE')).toThrow(/Unknown SKU: NOPE/);
    expect(() => c.add('MUG', 0)).toThrow(/at least 1/);
    expect(() => c.add('MUG', -1)).toThrow(/at least 1/);
    expect(() => c.add('MUG', 1.5)).toThrow(/whole number/);
    c.add('MUG');
    expect(() => c.setQuantity('MUG', 0)).toThrow(/at least 1/);
    expect(() => c.setCartDiscount(10001)).toThrow(/0 to 100/);
    expect(c.lines).toEqual([{ sku: 'MUG', quantity: 1, discountBps: 0 }]);
    expect(checkQuantity(3)).toBe(3);
  });
});
