// The browser till's commands, in Node and in Chromium: a session, a sale, a refund and the
// close, sealed with a leased data key; bad input throws and leaves the till's states as they were.
import { eq, ok, throws } from './check.js';

const bytes = (n, fill) => new Uint8Array(n).fill(fill);
let seed = 1;
const random = () => bytes(32, seed++);

function setUp({ Till, newTillKey, TaxEngine }) {
  const mac = bytes(64, 7);
  const key = newTillKey(bytes(32, 3));
  const till = new Till('acme', 'store-1', 'till-1', 'USD', key, mac, bytes(16, 9), undefined);
  const now = 1_767_225_600_000;
  till.lease('acme/kek', 1, bytes(16, 4), bytes(32, 5), bytes(60, 6), now, 100, now + 3_600_000);
  const engine = new TaxEngine('exclusive', 'perLine', 'halfUp');
  engine.setRates('general', [{ name: 'state', ppm: 62500 }, { name: 'city', ppm: 25000 }]);
  return { till, mac, now, engine };
}

export const cases = {
  'Till: a session, a cash sale, a refund and the close, each sealed and verifiable'(dcs) {
    const { Cart, Product, Money, Event, verifySealed } = dcs;
    const { till, mac, now, engine } = setUp(dcs);
    const opened = till.openSession('till-1/o1', 's-1', 'cashier-1', 10_000n, now, random());
    eq(opened.stream, 'session-s-1', 'session stream');
    eq(opened.events.length, 1, 'one SESSION_OPENED');
    const cart = new Cart('USD');
    cart.add(new Product('MUG', 'Mug', 'home', Money.fromMinor(1299n, 'USD'), 'general'), 2);
    const sold = till.sell('till-1/s1', opened.session, 'R-1', cart, engine, 'cash', undefined, now + 1, random());
    eq(sold.stream, 'sale-R-1', 'sale stream');
    eq(sold.total, 2n * 1299n + 227n, 'total with 8.75 % tax per line');
    ok(sold.events.length >= 2, 'initiated, paid, completed');
    for (const e of sold.events) verifySealed(e, mac, till.publicKey());
    const first = Event.fromBytes(sold.events[0]);
    eq(first.idempotencyKey, 'till-1/s1/0', 'command key /0');
    eq(first.createdBy, 'till-1', 'created and signed by the till');
    eq(first.eventType, 'SALE_INITIATED', 'first event');
    const refunded = till.refund('till-1/f1', sold.session, sold.sale, 'F-1', [['MUG', 1]], 'cash', 'chipped', now + 2, random());
    eq(refunded.total, 1299n + 114n, 'pro-rata refund');
    throws(
      () => till.refund('till-1/f2', refunded.session, refunded.sale, 'F-2', [['MUG', 2]], 'cash', 'x', now + 3, random()),
      /only 1 of 2 sold are left/,
      'over-refund',
    );
    const closed = till.closeSession('till-1/c1', refunded.session, 10_000n + 2n * 1299n + 227n - 1413n, now + 4, random());
    eq(closed.expected, 10_000n + 2n * 1299n + 227n - 1413n, 'expected cash');
    eq(closed.variance, 0n, 'no variance');
    throws(() => till.sell('till-1/s2', closed.session, 'R-2', cart, engine, 'card', undefined, now + 5, random()), /closed/, 'sale in a closed session');
    const state = till.state();
    ok(state.length > 0, 'clock state to keep');
  },

  'Till: bad input throws, tampering is caught, an exhausted lease refuses'(dcs) {
    const { Cart, Product, Money, verifySealed, Till, newTillKey } = dcs;
    const { till, mac, now, engine } = setUp(dcs);
    const opened = till.openSession('till-1/o1', 's-1', 'cashier-1', 0n, now, random());
    const empty = new Cart('USD');
    throws(() => till.sell('till-1/s0', opened.session, 'R-0', empty, engine, 'cash', undefined, now, random()), /empty/, 'empty cart');
    const cart = new Cart('USD');
    cart.add(new Product('MUG', 'Mug', 'home', Money.fromMinor(1299n, 'USD'), 'general'), 1);
    throws(() => till.sell('till-1/s0', opened.session, 'R-0', cart, engine, 'cheque', undefined, now, random()), /tender/, 'unknown tender');
    throws(() => till.sell('till-1/s0', Uint8Array.of(1, 2, 3), 'R-0', cart, engine, 'cash', undefined, now, random()), /session/, 'garbage session');
    const sold = till.sell('till-1/s1', opened.session, 'R-1', cart, engine, 'card', undefined, now, random());
    const edited = Uint8Array.from(sold.events[0]);
    edited[edited.length - 70] ^= 1;
    throws(() => verifySealed(edited, mac, till.publicKey()), /./, 'an edited record fails verification');
    // A till whose lease allows one event seals one, then refuses.
    const one = new Till('acme', 'store-1', 'till-2', 'USD', newTillKey(bytes(32, 8)), mac, bytes(16, 2), undefined);
    throws(() => one.openSession('till-2/o', 's-9', 'c', 0n, now, random()), /lease/, 'no lease yet');
    one.lease('acme/kek', 1, bytes(16, 4), bytes(32, 5), bytes(60, 6), now, 1, now + 1000);
    eq(one.leaseRemaining(now), 1n, 'one use left');
    one.openSession('till-2/o', 's-9', 'c', 0n, now, random());
    throws(() => one.openSession('till-2/p', 's-10', 'c', 0n, now, random()), /lease/, 'lease used up');
  },

  'Till: enrollment codes and cashier lists are checked'({ parseEnrollment, verifyCashiers, checkPin }) {
    throws(() => parseEnrollment('hello'), /dcs-till-1/, 'not a code');
    throws(() => verifyCashiers(Uint8Array.of(1), bytes(64, 1), bytes(32, 1)), /./, 'a forged list');
    throws(() => checkPin('not a hash', '1234'), /PHC/, 'a bad hash');
  },
};
