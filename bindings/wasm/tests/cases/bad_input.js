// Bad input through the binding: every case must throw a JS Error carrying the Rust message,
// and the module must keep working afterwards (no trap, no crash of the page or process).
import { eq, ok, throws } from './check.js';

/** Every CRDT class of the package. */
const CRDTS = ['GCounter', 'PNCounter', 'BoundedCounter', 'ORSet', 'LWWRegister', 'PNCounterMap'];

/** A small deterministic PRNG (xorshift32) so failures reproduce. */
function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

export const cases = {
  'wrong argument types throw Errors that name the argument'(dcs) {
    const { GCounter, ORSet, Money, Cart, Product, TaxEngine, EventBuilder } = dcs;
    const g = new GCounter();
    throws(() => g.increment('1', 1), /replica must be an integer \(a bigint or a safe integer number\), got string/, 'string replica');
    throws(() => g.increment(1, null), /amount must be an integer .* got null/, 'null amount');
    throws(() => g.increment(1, {}), /amount must be an integer .* got object/, 'object amount');
    throws(() => new ORSet().add(1, 42), /element must be a string, got number/, 'number element');
    throws(() => Money.fromMinor('100', 'USD'), /minor must be an integer .* got string/, 'string minor');
    throws(() => Money.fromMinor(100, 840), /currency must be a string, got number/, 'numeric currency');
    throws(() => GCounter.fromBytes('0101'), /state bytes must be a Uint8Array, got string/, 'string bytes');
    throws(() => GCounter.fromBytes([1, 0]), /state bytes must be a Uint8Array, got object/, 'plain array bytes');
    throws(() => g.merge(new ORSet()), /GCounter/, 'merging another CRDT type');
    throws(() => g.merge(undefined), /GCounter|null pointer/, 'merging undefined');
    const engine = new TaxEngine('exclusive', 'perLine', 'halfUp');
    throws(() => engine.setRates('standard', 'VAT'), /rates must be an array/, 'rates not an array');
    throws(() => engine.setRates('standard', [{ name: 'VAT', ppm: '20' }]), /rate\.ppm must be an integer/, 'string ppm');
    throws(() => new TaxEngine('gross', 'perLine', 'halfUp'), /unknown pricing "gross"/, 'pricing');
    throws(() => new TaxEngine('exclusive', 'perLine', 'bankers'), /unknown rounding mode "bankers"/, 'rounding mode');
    const cart = new Cart('USD');
    const p = new Product('A', 'Apple', 'fruit', Money.fromMinor(50, 'USD'), 'standard');
    throws(() => cart.add(p, 1.5), /quantity must be an integer .* got 1\.5/, 'fractional quantity');
    throws(() => cart.add(p, 0), /invalid quantity: must be at least 1/, 'zero quantity');
    throws(() => cart.add(p, -1), /quantity = -1 is out of range/, 'negative quantity');
    throws(() => cart.remove('B'), /SKU B is not in the cart/, 'unknown SKU');
    throws(() => new EventBuilder().tenantId('acme corp'), /invalid tenant_id: character ' ' is not allowed/, 'tenant id with a space');
    throws(() => new EventBuilder().eventType('SALE_DONE'), /unknown event type name "SALE_DONE"/, 'event type');
    throws(() => dcs.newEventId(Date.now(), new Uint8Array(9)), /random must be exactly 10 bytes, got 9/, 'short random');
    throws(() => new dcs.HybridClock(new Uint8Array(16), 1000), /node id must not be all zeroes/, 'zero node');
  },

  'non-integers and unsafe integers are refused, never rounded'({ Money, GCounter }) {
    for (const bad of [1.5, 0.1, NaN, Infinity, -Infinity]) {
      throws(() => Money.fromMinor(bad, 'USD'), /minor must be an integer/, `minor ${bad}`);
    }
    throws(() => Money.fromMinor(2 ** 53, 'USD'), /beyond Number\.MAX_SAFE_INTEGER .* pass it as a bigint/, '2^53');
    eq(Money.fromMinor(2 ** 53 - 1, 'USD').minor, 9007199254740991n, 'largest safe integer');
    throws(() => Money.fromMinor(2n ** 63n, 'USD'), /minor = 9223372036854775808 is out of range/, 'i64 overflow');
    throws(() => new GCounter().increment(-1, 1), /replica = -1 is out of range/, 'negative replica');
    throws(() => new GCounter().increment(1, 2n ** 64n), /amount = 18446744073709551616 is out of range/, 'u64 overflow');
  },

  'invalid currencies throw the Rust message'({ Money, Cart }) {
    throws(() => Money.fromMinor(1, 'XXQ'), /unknown currency "XXQ": use an ISO-4217 code such as "USD"/, 'unknown code');
    throws(() => Money.fromMinor(1, 'usd'), /unknown currency "usd"/, 'lowercase');
    throws(() => Money.fromMinor(1, ''), /unknown currency ""/, 'empty');
    throws(() => Money.zero('DOLLARS'), /unknown currency "DOLLARS"/, 'long');
    throws(() => new Cart('EURO'), /unknown currency "EURO"/, 'cart');
  },

  'malformed bytes throw the codec message for every CRDT and for events'(dcs) {
    for (const name of CRDTS) {
      const C = dcs[name];
      throws(() => C.fromBytes(new Uint8Array()), /input is empty/, `${name} empty`);
      throws(() => C.fromBytes(Uint8Array.of(9, 0)), /version 9/, `${name} version`);
      const good = new C().toBytes();
      throws(() => C.fromBytes(Uint8Array.of(...good, 0)), /left over after a complete value/, `${name} trailing bytes`);
      throws(() => new C().applyDelta(Uint8Array.of(1, 0xff, 0xff, 0xff)), /malformed|end of buffer|invalid|varint/i, `${name} bad delta`);
    }
    throws(() => dcs.Event.fromBytes(Uint8Array.of(1, 2, 3)), /cannot decode event bytes/, 'event');
  },

  'random bytes never trap the module'(dcs) {
    const rand = prng(0x5eed);
    for (let i = 0; i < 300; i += 1) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
      bytes[0] = 1; // the format version, so decoding gets past the first check
      for (const name of [...CRDTS, 'Event']) {
        try {
          dcs[name].fromBytes(bytes); // a lucky valid encoding is fine; a trap is not
        } catch (e) {
          ok(e instanceof Error && !(e instanceof WebAssembly.RuntimeError), `${name} threw a plain Error, got ${e}`);
          ok(e.message.length > 10, `${name} error has a message`);
        }
      }
    }
    // The module still works after hundreds of errors.
    const g = new dcs.GCounter();
    g.increment(1, 41);
    g.increment(1, 1);
    eq(g.value(), 42n, 'module alive');
  },
};
