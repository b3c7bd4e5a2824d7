// The till's commands: each one is sealed by the WASM `Till` (events signed, MACed and
// encrypted in the browser) and committed to IndexedDB in one transaction with the till's
// clocks, the session, the receipt and the outbox record. Nothing here talks to the network.

import { Till, verifySealed, type SealedCommand } from '@dcs/wasm';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { TillProvisionSchema, type TillProvision } from '../gen/dcs/v1/pos_pb.js';
import type { OutboxRecord, ReceiptLine, ReceiptRecord, SessionRecord, Tender, TillDb } from './db.js';
import type { Enrollment } from './enroll.js';
import type { CartModel } from './cart.js';
import { refundAmounts } from './refund.js';

const random32 = () => crypto.getRandomValues(new Uint8Array(32));
const hex16 = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The uses left of one lease, committed with every command. */
interface LeaseLeft { dataKeyId: string; remaining: bigint }

export class TillApp {
  readonly till: Till;
  session: SessionRecord | undefined;
  cashier: { id: string; name: string } | undefined;
  private key = () => `${this.provision.agentId}/${crypto.randomUUID()}`;

  constructor(
    readonly db: TillDb, readonly enrollment: Enrollment, public provision: TillProvision, node: Uint8Array,
    state: Uint8Array | undefined, private leaseLeft?: LeaseLeft,
  ) {
    const p = provision;
    this.till = new Till(p.tenant, p.branch, p.agentId, p.currency, enrollment.signingKey, p.macKey, node, state);
    this.applyLease();
  }

  /** What every command commits with its events: the clocks and the lease's remaining uses
   * (so a reload, offline, resumes the count instead of starting the lease over). */
  private state(): Record<string, unknown> {
    const l = this.provision.lease;
    const left: LeaseLeft | undefined = l && { dataKeyId: hex16(l.dataKeyId), remaining: this.till.leaseRemaining(Date.now()) };
    return { tillState: this.till.state(), leaseLeft: left };
  }

  /** Loads the till from IndexedDB (the provision saved at the last start online). */
  static async load(db: TillDb, enrollment: Enrollment): Promise<TillApp | undefined> {
    const bytes = await db.get<Uint8Array>('provision');
    if (!bytes) return undefined;
    let node = await db.get<Uint8Array>('node');
    if (!node) {
      do node = crypto.getRandomValues(new Uint8Array(16)); while (node.every((b) => b === 0));
      await db.put('node', node);
    }
    const app = new TillApp(
      db, enrollment, fromBinary(TillProvisionSchema, bytes), node,
      await db.get<Uint8Array>('tillState'), await db.get<LeaseLeft>('leaseLeft'),
    );
    const open = (await db.all<SessionRecord>('sessions')).find((s) => s.closedAt === undefined);
    app.session = open;
    return app;
  }

  static saveProvision(db: TillDb, p: TillProvision): Promise<void> {
    return db.put('provision', toBinary(TillProvisionSchema, p));
  }

  get currency(): string { return this.provision.currency; }

  /** Takes a fresh provision (new lease, catalog, cashiers). */
  reprovision(p: TillProvision): void {
    this.provision = p;
    this.leaseLeft = undefined;
    this.applyLease();
  }

  private applyLease(): void {
    const l = this.provision.lease;
    if (!l) throw new Error('the provision carries no data key lease');
    // The same lease as before a reload: only what was left of it.
    const saved = this.leaseLeft;
    const uses = saved && saved.dataKeyId === hex16(l.dataKeyId) && saved.remaining < l.maxUses ? saved.remaining : l.maxUses;
    this.till.lease(l.kekId, l.kekVersion, l.dataKeyId, l.dataKey, l.wrapped, Date.now(), uses, l.expiresUnixMs);
  }

  /** Why a stored record no longer verifies (edited in storage), or undefined if it is intact. */
  tampered(r: OutboxRecord): string | undefined {
    const key = this.till.publicKey();
    for (const bytes of r.sealed) {
      try { verifySealed(bytes, this.provision.macKey, key); } catch (e) { return (e as Error).message; }
    }
    return undefined;
  }

  private record(kind: OutboxRecord['kind'], key: string, cmd: SealedCommand): OutboxRecord {
    return { key, kind, stream: cmd.stream, sealed: cmd.events, eventIds: cmd.eventIds, at: Date.now(), status: 'queued' };
  }

  async openSession(cashier: string, openingFloat: bigint): Promise<SessionRecord> {
    if (this.session) throw new Error(`session ${this.session.id} is already open`);
    const key = this.key();
    const id = `S-${Date.now().toString(36).toUpperCase()}-${hex(2)}`;
    const cmd = this.till.openSession(key, id, cashier, openingFloat, Date.now(), random32());
    const session: SessionRecord = { id, cashier, openedAt: Date.now(), openingFloat, state: cmd.session! };
    await this.db.write({ kv: this.state(), outbox: [this.record('open', key, cmd)], sessions: [session] });
    this.session = session;
    return session;
  }

  /** Seals and commits a sale; returns its receipt. */
  async sell(cart: CartModel, tender: Tender, pay: { tendered?: bigint; giftCard?: string }): Promise<ReceiptRecord> {
    const session = this.openSessionOrThrow();
    const totals = cart.totals();
    if (totals.lines.length === 0) throw new Error('The cart is empty');
    const key = this.key();
    const saleId = `R-${Date.now().toString(36).toUpperCase()}-${hex(2)}`;
    const t0 = performance.now();
    const wasmCart = cart.build();
    let cmd: SealedCommand;
    try {
      cmd = this.till.sell(key, session.state, saleId, wasmCart, cart.engine, tender, undefined, Date.now(), random32());
    } finally {
      wasmCart.free();
    }
    const t1 = performance.now();
    const lines: ReceiptLine[] = totals.lines.map((l) => ({
      sku: l.sku, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice,
      discount: l.lineDiscount + l.cartDiscount, net: l.net, tax: l.tax, gross: l.gross,
    }));
    const receipt: ReceiptRecord = {
      id: saleId, kind: 'sale', saleId, sessionId: session.id, cashier: this.cashier?.name ?? session.cashier, at: Date.now(),
      currency: this.currency, lines, subtotal: totals.subtotal, discount: totals.discount, net: totals.net,
      tax: totals.tax, total: cmd.total ?? totals.total, tender, state: cmd.sale, refunded: {},
      ...(tender === 'cash' && pay.tendered !== undefined ? { tendered: pay.tendered, change: pay.tendered - totals.total } : {}),
      ...(tender === 'giftCard' ? { giftCard: pay.giftCard } : {}),
    };
    const next = { ...session, state: cmd.session ?? session.state };
    const moves: Record<string, number> = {};
    for (const l of lines) moves[l.sku] = (moves[l.sku] ?? 0) + l.quantity;
    const outbox = { ...this.record('sale', key, cmd), moves };
    await this.db.write({ kv: this.state(), outbox: [outbox], receipts: [receipt], sessions: [next] });
    const t2 = performance.now();
    performance.measure('seal', { start: t0, end: t1 });
    performance.measure('commit', { start: t1, end: t2 });
    performance.measure('seal-commit', { start: t0, end: t2 });
    this.session = next;
    return receipt;
  }

  /** Seals and commits a refund of `lines` of `sale`; returns the refund's receipt. */
  async refund(sale: ReceiptRecord, lines: Array<[string, number]>, tender: Tender, reason: string): Promise<ReceiptRecord> {
    const session = this.openSessionOrThrow();
    if (!sale.state) throw new Error(`receipt ${sale.id} has no sale state to refund against`);
    const key = this.key();
    const refundId = `F-${Date.now().toString(36).toUpperCase()}-${hex(2)}`;
    const cmd = this.till.refund(key, session.state, sale.state, refundId, lines, tender, reason, Date.now(), random32());
    const amounts = refundAmounts(sale.lines, sale.refunded ?? {}, lines);
    const refunded = { ...(sale.refunded ?? {}) };
    for (const [sku, q] of lines) refunded[sku] = (refunded[sku] ?? 0) + q;
    const receipt: ReceiptRecord = {
      id: refundId, kind: 'refund', saleId: sale.saleId, sessionId: session.id, cashier: this.cashier?.name ?? session.cashier, at: Date.now(),
      currency: this.currency,
      lines: lines.map(([sku, q]) => {
        const l = sale.lines.find((x) => x.sku === sku)!;
        const one = refundAmounts(sale.lines, sale.refunded ?? {}, [[sku, q]]);
        return { sku, name: l.name, quantity: q, unitPrice: l.unitPrice, discount: 0n, net: one.net, tax: one.tax, gross: one.total };
      }),
      subtotal: amounts.total, discount: 0n, net: amounts.net, tax: amounts.tax, total: cmd.total ?? amounts.total, tender, reason,
    };
    const updatedSale = { ...sale, state: cmd.sale ?? sale.state, refunded };
    const next = { ...session, state: cmd.session ?? session.state };
    await this.db.write({ kv: this.state(), outbox: [this.record('refund', key, cmd)], receipts: [receipt, updatedSale], sessions: [next] });
    this.session = next;
    return receipt;
  }

  async closeSession(counted: bigint): Promise<SessionRecord> {
    const session = this.openSessionOrThrow();
    const key = this.key();
    const cmd = this.till.closeSession(key, session.state, counted, Date.now(), random32());
    const closed: SessionRecord = {
      ...session, state: cmd.session ?? session.state, closedAt: Date.now(), counted,
      expected: cmd.expected, variance: cmd.variance,
    };
    await this.db.write({ kv: this.state(), outbox: [this.record('close', key, cmd)], sessions: [closed] });
    this.session = undefined;
    return closed;
  }

  private openSessionOrThrow(): SessionRecord {
    if (!this.session) throw new Error('Open a session first');
    return this.session;
  }
}

function hex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}
