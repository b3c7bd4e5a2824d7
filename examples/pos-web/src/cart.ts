// The cart being rung up: plain lines (SKU, units, line discount) kept in JS and priced by the
// WASM engine (`Cart` + `TaxEngine`), so every total is the engine's, never computed here.

import { Cart, Money, Product, TaxEngine, type CartTotals } from '@dcs/wasm';
import type { CatalogProduct, TaxCategory } from '../gen/dcs/v1/pos_pb.js';

export interface Line { sku: string; quantity: number; discountBps: number }

/** The tax engine of the store's tax table (exclusive prices, per-line half-up, as dcs-local). */
export function taxEngine(tax: TaxCategory[]): TaxEngine {
  const engine = new TaxEngine('exclusive', 'perLine', 'halfUp');
  for (const c of tax) engine.setRates(c.category, c.rates.map((r) => ({ name: r.name, ppm: r.ppm })));
  return engine;
}

/** Checks a quantity typed by the cashier. */
export function checkQuantity(q: number): number {
  if (!Number.isInteger(q) || q < 1) throw new Error(`Quantity must be a whole number of at least 1 (got ${q})`);
  if (q > 9999) throw new Error(`Quantity ${q} is more than 9999`);
  return q;
}

export class CartModel {
  lines: Line[] = [];
  cartDiscountBps = 0;

  constructor(public products: Map<string, CatalogProduct>, public engine: TaxEngine, readonly currency: string) {}

  product(sku: string): CatalogProduct {
    const p = this.products.get(sku.trim().toUpperCase()) ?? this.products.get(sku.trim());
    if (!p) throw new Error(`Unknown SKU: ${sku}`);
    return p;
  }

  add(sku: string, quantity = 1): void {
    checkQuantity(quantity);
    const p = this.product(sku);
    const line = this.lines.find((l) => l.sku === p.sku);
    if (line) line.quantity = checkQuantity(line.quantity + quantity);
    else this.lines.push({ sku: p.sku, quantity, discountBps: 0 });
  }

  setQuantity(sku: string, quantity: number): void {
    const line = this.lines.find((l) => l.sku === sku);
    if (line) line.quantity = checkQuantity(quantity);
  }

  remove(sku: string): void {
    this.lines = this.lines.filter((l) => l.sku !== sku);
  }

  setLineDiscount(sku: string, bps: number): void {
    const line = this.lines.find((l) => l.sku === sku);
    if (line) line.discountBps = checkBps(bps);
  }

  setCartDiscount(bps: number): void {
    this.cartDiscountBps = checkBps(bps);
  }

  clear(): void {
    this.lines = [];
    this.cartDiscountBps = 0;
  }

  /** A WASM cart of these lines; the caller frees it. */
  build(): Cart {
    const cart = new Cart(this.currency);
    try {
      for (const l of this.lines) {
        const p = this.product(l.sku);
        const price = Money.fromMinor(p.unitPrice?.minorUnits ?? 0n, this.currency);
        const product = new Product(p.sku, p.name, p.category, price, p.taxCategory);
        cart.add(product, l.quantity);
        product.free();
        price.free();
        if (l.discountBps) cart.setLineDiscountPercent(l.sku, l.discountBps);
      }
      if (this.cartDiscountBps) cart.setCartDiscountPercent(this.cartDiscountBps);
      return cart;
    } catch (e) {
      cart.free();
      throw e;
    }
  }

  totals(): CartTotals {
    const cart = this.build();
    try {
      return cart.totals(this.engine);
    } finally {
      cart.free();
    }
  }
}

function checkBps(bps: number): number {
  if (!Number.isInteger(bps) || bps < 0 || bps > 10000) throw new Error('A discount is 0 to 100 %');
  return bps;
}
