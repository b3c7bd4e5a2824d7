// Compile-time check of the shipped .d.ts files (tsc --noEmit in scripts/test.d/50-wasm.sh):
// the package's public API must type-check as a TypeScript POS would use it.
import {
  init, GCounter, PNCounterMap, Money, Cart, Product, TaxEngine, EventBuilder, Event,
  HybridClock, newEventId, OfflineQueue, type CartTotals, type QueueEntry,
} from '@dcs/wasm';

await init();
const stock = new PNCounterMap();
const delta: Uint8Array = stock.decrement(7n, 'SKU-42', 2);
const counter = GCounter.fromBytes(new GCounter().toBytes());
counter.applyDelta(GCounter.joinDeltas(delta, delta));
const value: bigint = counter.value();
const stockLeft: bigint | undefined = stock.get('SKU-42');

const engine = new TaxEngine('exclusive', 'perLine', 'halfUp');
engine.setRates('standard', [{ name: 'state', ppm: 62500 }]);
const cart = new Cart('USD');
cart.add(new Product('COFFEE', 'Coffee', 'grocery', Money.fromMinor(450n, 'USD'), 'standard'), 3);
const totals: CartTotals = cart.totals(engine);
const total: bigint = totals.total;
const lineNet: bigint = totals.lines[0].net;

const node = new Uint8Array(16).fill(1);
const clock = new HybridClock(node, 60_000);
const b = new EventBuilder();
b.eventId(newEventId(Date.now(), new Uint8Array(10)));
b.causality(clock.tick(Date.now()), node, [['pos-1', 1n]]);
const event: Event = b.build();

const queue = await OfflineQueue.open({ name: 'pos' });
const seq: number = await queue.enqueueEvent(event);
await queue.drain(async (batch: QueueEntry[]) => batch.length);
export const used = [value, stockLeft, total, lineNet, seq];
