// The API through JS: CRDTs, money, cart and tax, the event builder. Runs in Node and Chromium.
import { eq, hex, ok, throws } from './check.js';

/** Sends every delta of `deltas` to `target` as bytes, the way they travel. */
function deliver(target, deltas) {
  for (const d of deltas) target.applyDelta(d);
}

export const cases = {
  'GCounter: deltas and merge converge to byte-identical state'({ GCounter }) {
    const [a, b] = [new GCounter(), new GCounter()];
    const fromA = [a.increment(1n, 5n), a.increment(1, 2)];
    const fromB = [b.increment(2n, 10)];
    const full = b.clone();
    deliver(b, fromA);
    deliver(a, fromB);
    eq(a.value(), 17n, 'a.value');
    ok(a.equals(b), 'a equals b after exchanging deltas');
    eq(hex(a.toBytes()), hex(b.toBytes()), 'canonical bytes');
    deliver(a, fromB); // idempotent
    eq(a.value(), 17n, 'value after a duplicate delta');
    full.merge(a);
    ok(full.equals(a), 'merge of full states gives the same state');
    const joined = GCounter.joinDeltas(fromA[0], fromA[1]);
    const c = new GCounter();
    c.applyDelta(joined);
    eq(c.value(), 7n, 'joined deltas');
    const back = GCounter.fromBytes(a.toBytes());
    ok(back.equals(a), 'bytes round trip');
  },

  'PNCounter: increments minus decrements, may go negative'({ PNCounter }) {
    const [a, b] = [new PNCounter(), new PNCounter()];
    a.increment(1, 1);
    const d1 = a.decrement(1, 1);
    const d2 = b.decrement(2, 1);
    a.applyDelta(d2);
    b.applyDelta(d1);
    b.merge(a);
    eq(a.value(), -1n, 'two tills selling the last unit');
    eq(hex(a.toBytes()), hex(b.toBytes()), 'bytes');
  },

  'BoundedCounter: never oversold; rights move by transfer'({ BoundedCounter }) {
    const a = new BoundedCounter();
    const inc = a.increment(1, 3);
    throws(() => a.decrement(1, 4), /rights|hold/i, 'decrement past rights');
    eq(a.value(), 3n, 'value unchanged after the refused decrement');
    const b = new BoundedCounter();
    b.applyDelta(inc);
    throws(() => b.decrement(2, 1), /rights|hold/i, 'replica 2 holds no rights');
    const t = a.transfer(1, 2, 2);
    b.applyDelta(t);
    eq(b.rights(2), 2n, 'rights moved');
    b.decrement(2, 2);
    eq(b.value(), 1n, 'value after spending transferred rights');
    throws(() => a.transfer(1, 1, 1), /transfer/i, 'self transfer');
  },

  'ORSet: concurrent add and remove, the add wins'({ ORSet }) {
    const a = new ORSet();
    const add = a.add(1, 'espresso');
    const b = new ORSet();
    b.applyDelta(add);
    const removed = b.remove('espresso');
    const readded = a.add(1, 'espresso');
    a.add(1, 'bagel');
    a.applyDelta(removed);
    b.merge(a);
    ok(a.has('espresso') && b.has('espresso'), 'concurrent add wins');
    eq(b.values(), ['bagel', 'espresso'], 'sorted values');
    eq(b.size, 2, 'size');
    eq(hex(a.toBytes()), hex(b.toBytes()), 'bytes');
    b.applyDelta(readded);
    a.remove('bagel');
    eq(a.values(), ['espresso'], 'remove');
  },

  'LWWRegister: greater HLC wins, equal times go to the greater replica'({ LWWRegister }) {
    const a = new LWWRegister();
    eq(a.get(), undefined, 'unwritten');
    const late = a.set('4.50', 200n, 1);
    const b = new LWWRegister();
    b.set('4.00', 100n, 2);
    b.applyDelta(late);
    eq(b.get(), '4.50', 'later write wins');
    eq(b.stampTime(), 200n, 'stamp time');
    b.set('5.00', 200n, 7);
    eq(b.get(), '5.00', 'equal time, greater replica wins');
    eq(b.stampReplica(), 7n, 'stamp replica');
  },

  'PNCounterMap: stock per SKU with add-wins keys'({ PNCounterMap }) {
    const [a, b] = [new PNCounterMap(), new PNCounterMap()];
    const sale = a.decrement(1, 'SKU-42', 2);
    const delivery = b.increment(2, 'SKU-42', 10);
    b.applyDelta(sale);
    a.applyDelta(delivery);
    eq(a.get('SKU-42'), 8n, 'stock');
    eq(a.get('SKU-7'), undefined, 'absent key');
    eq(hex(a.toBytes()), hex(b.toBytes()), 'bytes');
    const rm = a.remove('SKU-42');
    eq(a.size, 0, 'removed');
    b.increment(2, 'SKU-42', 1); // concurrent update keeps the key
    b.applyDelta(rm);
    eq(b.keys(), ['SKU-42'], 'concurrent update wins over remove');
    eq(b.get('SKU-42'), 9n, 'value resumes from the merged state');
  },

  'Money: integer minor units, checked arithmetic'({ Money }) {
    const price = Money.fromMinor(1999n, 'USD');
    eq(price.minor, 1999n, 'minor is a bigint');
    eq(price.currency, 'USD', 'currency');
    eq(price.exponent, 2, 'exponent');
    eq(price.toString(), '19.99 USD', 'display');
    eq(Money.fromMinor(500, 'JPY').toString(), '500 JPY', 'JPY has no minor digits');
    eq(price.add(Money.fromMinor(1, 'USD')).minor, 2000n, 'add');
    eq(price.sub(Money.fromMinor(2000, 'USD')).minor, -1n, 'sub');
    eq(price.mul(3).minor, 5997n, 'mul');
    eq(Money.fromMinor(5, 'USD').mulRatio(1, 2, 'halfEven').minor, 2n, 'half-even');
    eq(Money.fromMinor(5, 'USD').mulRatio(1, 2, 'halfUp').minor, 3n, 'half-up');
    eq(Money.fromMinor(100, 'USD').allocate([1, 1, 1]).map((m) => m.minor), [34n, 33n, 33n], 'allocate');
    throws(() => price.add(Money.fromMinor(1, 'EUR')), /currency mismatch: USD vs EUR/, 'mixing currencies');
    throws(() => Money.fromMinor(9223372036854775807n, 'USD').add(Money.fromMinor(1, 'USD')), /overflow/, 'overflow');
    eq(Money.fromMinor(-9223372036854775808n, 'USD').minor, -9223372036854775808n, 'i64::MIN round trip');
    ok(Money.zero('KWD').equals(Money.fromMinor(0n, 'KWD')), 'zero');
  },

  'Cart: exclusive US sales tax per line with a line discount'({ Money, Product, TaxEngine, Cart }) {
    const engine = new TaxEngine('exclusive', 'perLine', 'halfUp');
    engine.setRates('standard', [{ name: 'state', ppm: 62500 }, { name: 'city', ppm: 20000 }]);
    engine.setRates('food', []);
    const cart = new Cart('USD');
    cart.add(new Product('COFFEE', 'Coffee beans', 'grocery', Money.fromMinor(450, 'USD'), 'standard'), 2);
    cart.add(new Product('COFFEE', 'Coffee beans', 'grocery', Money.fromMinor(450, 'USD'), 'standard'), 1);
    cart.add(new Product('BAGEL', 'Bagel', 'bakery', Money.fromMinor(199n, 'USD'), 'food'), 2);
    cart.setLineDiscountPercent('COFFEE', 1000);
    const t = cart.totals(engine);
    // COFFEE 3 × 4.50 = 13.50, −10 % = 12.15; state 6.25 % = 0.759375 → 0.76, city 2 % = 0.243 → 0.24.
    eq([t.subtotal, t.discount, t.net, t.tax, t.total], [1748n, 135n, 1613n, 100n, 1713n], 'totals');
    eq(t.currency, 'USD', 'currency');
    eq(t.lines.map((l) => [l.sku, l.quantity, l.net, l.tax, l.gross]), [['COFFEE', 3, 1215n, 100n, 1315n], ['BAGEL', 2, 398n, 0n, 398n]], 'lines');
    eq(t.taxes.map((x) => [x.name, x.ratePpm, x.taxable, x.tax]), [['city', 20000, 1215n, 24n], ['state', 62500, 1215n, 76n]], 'tax per rate');
    cart.setQuantity('BAGEL', 0);
    eq(cart.size, 1, 'quantity zero removes the line');
  },

  'Cart: inclusive VAT per invoice with a cart discount allocated over the lines'({ Money, Product, TaxEngine, Cart }) {
    const engine = new TaxEngine('inclusive', 'perInvoice', 'halfEven');
    engine.setRates('standard', [{ name: 'VAT', ppm: 200000 }]);
    const cart = new Cart('EUR');
    cart.add(new Product('X', 'Kettle', 'home', Money.fromMinor(1000, 'EUR'), 'standard'), 1);
    cart.add(new Product('Y', 'Mug', 'home', Money.fromMinor(500, 'EUR'), 'standard'), 3);
    cart.setCartDiscountAmount(Money.fromMinor(100, 'EUR'));
    const t = cart.totals(engine);
    // After the discount (40 + 60): 9.60 + 14.40 = 24.00 gross, VAT 24.00 × 20/120 = 4.00.
    eq([t.subtotal, t.discount, t.net, t.tax, t.total], [2500n, 100n, 2000n, 400n, 2400n], 'totals');
    eq(t.lines.map((l) => [l.cartDiscount, l.net, l.tax, l.gross]), [[40n, 800n, 160n, 960n], [60n, 1200n, 240n, 1440n]], 'lines');
    throws(() => cart.setCartDiscountAmount(Money.fromMinor(1, 'USD')), /currency mismatch/, 'discount currency');
    throws(() => cart.setCartDiscountPercent(10001), /basis points/, 'discount over 100 %');
    cart.clearCartDiscount();
    eq(cart.totals(engine).total, 2500n, 'total without the discount');
  },

  'Event builder: ids, clock, build, bytes round trip'({ newEventId, HybridClock, EventBuilder, Event, Money }) {
    const random = new Uint8Array(10).fill(7);
    const id = newEventId(1_700_000_000_000, random);
    ok(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id), `UUIDv7 text: ${id}`);
    eq(id, newEventId(1_700_000_000_000n, random), 'deterministic for the same time and bytes');
    const node = new Uint8Array(16).fill(9);
    const clock = new HybridClock(node, 60_000);
    const t1 = clock.tick(1_700_000_000_000);
    const t2 = clock.tick(1_600_000_000_000); // the wall clock went back
    ok(t2 > t1, 'HLC never goes backwards');
    const b = new EventBuilder();
    b.eventId(id);
    b.idempotencyKey('sale-0001');
    b.tenantId('acme');
    b.branchId('store-12');
    b.agentId('pos-3');
    b.eventType('SALE_COMPLETED');
    b.amount(Money.fromMinor(1713, 'USD'));
    b.kek('tenant-acme/kek', 1);
    b.causality(t2, node, [['pos-3', 1n]]);
    throws(() => b.build(), /missing audit\.created_by/, 'missing creator');
    b.createdBy('cashier-7');
    const ev = b.build();
    eq([ev.eventId, ev.idempotencyKey, ev.tenantId, ev.eventType, ev.hlcTime], [id, 'sale-0001', 'acme', 'SALE_COMPLETED', t2], 'fields');
    eq(ev.correlationId, id, 'correlation defaults to the event id');
    eq(ev.amount.minor, 1713n, 'amount');
    const back = Event.fromBytes(ev.toBytes());
    eq(hex(back.toBytes()), hex(ev.toBytes()), 'event bytes round trip');
    // One event, one encoding: trailing bytes are refused (issue 16, defect 11).
    throws(() => Event.fromBytes(Uint8Array.of(...ev.toBytes(), 0x6a)), /1 trailing bytes after the event/, 'trailing bytes');
    eq(hex(back.canonicalBytes()), hex(ev.canonicalBytes()), 'canonical bytes survive the round trip');
    ok(ev.canonicalBytes().length > 100 && ev.aadBytes().length > 50, 'canonical and AAD bytes');
    b.causality(t2, node, [['pos-9', 1n]]);
    throws(() => b.build(), /must count this event for its agent pos-3/, 'vector clock without the agent');
  },
};
