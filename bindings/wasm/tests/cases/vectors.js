// The shared vector file (bindings/vectors/crdt_cart_v1.json, format in bindings/vectors/README.md):
// the same operations through JS must reach the state bytes, values and cart totals that Rust
// recorded.
import { eq, hex } from './check.js';


/** Runs one mutator op on `state`; returns its delta bytes. */
function mutate(state, op) {
  if ('key' in op) {
    // PNCounterMap: counters under string keys.
    if (op.op === 'remove') return state.remove(op.key);
    return state[op.op](op.replica, op.key, op.amount);
  }
  switch (op.op) {
    case 'transfer':
      return state.transfer(op.replica, op.to, op.amount);
    case 'increment':
    case 'decrement':
      return state[op.op](op.replica, op.amount);
    case 'add':
      return state.add(op.replica, op.value);
    case 'remove':
      return state.remove(op.value);
    case 'set':
      return state.set(op.value, op.time, op.replica);
    default:
      throw new Error(`unknown vector op ${JSON.stringify(op.op)}`);
  }
}

/** A replica's value in the file's terms (counters as integers, a never-written register as null). */
function valueOf(state) {
  if (typeof state.keys === 'function') {
    // PNCounterMap: {key: count} with counts as numbers, like the file.
    return Object.fromEntries(state.keys().map((k) => [k, Number(state.get(k))]));
  }
  if (typeof state.values === 'function') return state.values();
  if (typeof state.value === 'function') return state.value();
  return state.get() ?? null;
}

/** Applies one `crdt` case and checks every replica's bytes and value. */
function checkCrdt(dcs, c) {
  const Type = dcs[c.type];
  if (typeof Type !== 'function') throw new Error(`no CRDT class ${c.type} in the package`);
  const replicas = new Map();
  const replica = (name) => {
    if (!replicas.has(name)) replicas.set(name, new Type());
    return replicas.get(name);
  };
  for (const op of c.ops) {
    if (op.op === 'merge') {
      replica(op.into).merge(replica(op.from));
      continue;
    }
    const delta = mutate(replica(op.at), op);
    for (const to of op.deliver) replica(to).applyDelta(delta);
  }
  for (const [name, want] of Object.entries(c.expect)) {
    const state = replica(name);
    eq(hex(state.toBytes()), want.state_hex, `${name}: state bytes`);
    const value = valueOf(state);
    eq(value, typeof value === 'bigint' ? BigInt(want.value) : want.value, `${name}: value`);
    eq(hex(Type.fromBytes(state.toBytes()).toBytes()), want.state_hex, `${name}: bytes round trip`);
  }
}

/** Sets a line or cart discount given as `null`, `{percent_bps}` or `{amount_minor}`. */
function discount(d, currency, Money, percent, amount) {
  if (d === null) return;
  if ('percent_bps' in d) percent(d.percent_bps);
  else if ('amount_minor' in d) amount(Money.fromMinor(d.amount_minor, currency));
  else throw new Error(`unknown discount ${JSON.stringify(d)}`);
}

/** Prices one `cart` case and checks its totals. */
function checkCart({ Money, Product, TaxEngine, Cart }, c) {
  const engine = new TaxEngine(c.policy.pricing, c.policy.rounding, c.policy.mode);
  for (const [category, rates] of Object.entries(c.rates)) engine.setRates(category, rates);
  const cart = new Cart(c.currency);
  for (const l of c.lines) {
    const price = Money.fromMinor(l.unit_minor, c.currency);
    cart.add(new Product(l.sku, l.name, l.category, price, l.tax_category), l.quantity);
    discount(l.discount, c.currency, Money, (bps) => cart.setLineDiscountPercent(l.sku, bps), (m) => cart.setLineDiscountAmount(l.sku, m));
  }
  discount(c.cart_discount, c.currency, Money, (bps) => cart.setCartDiscountPercent(bps), (m) => cart.setCartDiscountAmount(m));
  const t = cart.totals(engine);
  const fields = ['subtotal', 'discount', 'net', 'tax', 'total'];
  eq(t.currency, c.expect.currency, 'currency');
  eq(fields.map((f) => t[f]), fields.map((f) => BigInt(c.expect[f])), `totals (${fields.join(', ')})`);
}

/** The vector cases by name; a missing file (`null`) is one failing case. */
export function vectorCases(vectors) {
  if (vectors === null) {
    return { 'the file exists': () => { throw new Error('bindings/vectors/crdt_cart_v1.json is missing'); } };
  }
  if (vectors.format !== 'dcs-shared-vectors' || vectors.version !== 1) {
    return { 'file format': () => { throw new Error(`unexpected vector file ${vectors.format} v${vectors.version}`); } };
  }
  const cases = {};
  for (const c of vectors.crdt) cases[`crdt: ${c.name}`] = (dcs) => checkCrdt(dcs, c);
  for (const c of vectors.cart) cases[`cart: ${c.name}`] = (dcs) => checkCart(dcs, c);
  return cases;
}
