// Moves the till's outbox to dcs-local and keeps its replica fresh:
// - drain: sends each queued command's sealed bytes, oldest first, one at a time; a record
//   leaves the outbox only once the daemon stored it (a resend is answered `deduplicated`),
//   a record the daemon refuses for good (invalid, a broken rule, or a MAC or signature that
//   no longer verifies here either: edited in storage) is quarantined and the rest go on;
// - heartbeat: a call every second; one that fails or times out (0.9 s) turns the till
//   offline, the first that succeeds turns it online and drains;
// - refresh: catalog and stock every 5 s, counting what changed (merged updates);
// - watch: WatchSyncStatus for the events the region refused.

import type { CatalogProduct } from '../gen/dcs/v1/pos_pb.js';
import type { Pos } from './api.js';
import type { OutboxRecord, TillDb } from './db.js';
import { changedProducts, changedStock, type Item } from './diff.js';
import { classify, message } from './errors.js';
import { status } from './status.js';
import { TillApp } from './till.js';

const HEARTBEAT_MS = 1000;
const BEAT_TIMEOUT_MS = 900; // a hung daemon shows offline within 2 s
const REFRESH_MS = 5000;
const LEASE_LOW = 500n; // events left on the data key lease before asking for a new one

export class Sync {
  private draining: Promise<void> | undefined;
  private watching = false;
  private lastRefresh = 0;
  onCatalog: (products: CatalogProduct[]) => void = () => {};

  constructor(private app: TillApp, private pos: Pos, private db: TillDb) {}

  async start(): Promise<void> {
    status.set({ lastSyncMs: await this.db.get<number>('lastSyncMs'), rejected: (await this.db.get('rejected')) ?? [] });
    await this.counts();
    addEventListener('offline', () => this.offline());
    setInterval(() => void this.beat(), HEARTBEAT_MS);
    await this.beat();
  }

  /** One heartbeat: stock each second, the catalog every 5 s; success turns the till online. */
  private async beat(): Promise<void> {
    try {
      const stock = await this.pos.getStock({}, { timeoutMs: BEAT_TIMEOUT_MS });
      const now = Date.now();
      if (!status.get().online || now - this.lastRefresh >= REFRESH_MS) {
        this.lastRefresh = now;
        await this.refresh(Object.fromEntries(stock.levels.map((l) => [l.sku, l.onHand])));
        if (this.app.till.leaseRemaining(now) < LEASE_LOW) await this.provision(); // a new data key while online
      }
      if (!status.get().online) status.set({ online: true, problem: undefined });
      if (!this.watching) void this.watch();
      void this.drain();
    } catch (e) {
      if (classify(e) === 'auth') status.set({ problem: `The daemon refuses this till: ${message(e)}` });
      this.offline();
    }
  }

  private offline(): void {
    if (status.get().online) status.set({ online: false });
  }

  private async refresh(stock: Record<string, bigint>): Promise<void> {
    const catalog = await this.pos.getCatalog({});
    const items = (ps: CatalogProduct[]): Item[] => ps.map((p) => ({ sku: p.sku, name: p.name, category: p.category, price: p.unitPrice?.minorUnits ?? 0n, taxCategory: p.taxCategory }));
    const before = (await this.db.get<CatalogProduct[]>('catalog')) ?? this.app.provision.products;
    const beforeStock = (await this.db.get<Record<string, bigint>>('stock')) ?? {};
    const merged = changedProducts(items(before), items(catalog.products)) + changedStock(beforeStock, stock);
    if (merged > 0 || status.get().mergedUpdates !== merged) {
      await this.db.write({ kv: { catalog: catalog.products.map((p) => ({ ...p })), stock } });
      status.set({ mergedUpdates: merged });
    }
    this.onCatalog(catalog.products);
  }

  /** Asks for a fresh provision (lease, catalog, cashiers); keeps it for offline starts. */
  async provision(): Promise<void> {
    const p = await this.pos.provisionTill({});
    await TillApp.saveProvision(this.db, p);
    this.app.reprovision(p);
  }

  /** Sends the outbox, oldest first; at most one drain runs at a time. */
  drain(): Promise<void> {
    this.draining ??= this.drainLoop().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async drainLoop(): Promise<void> {
    for (;;) {
      const r = await this.db.nextQueued();
      if (!r) break;
      try {
        await this.pos.submitSealed({ stream: r.stream, sealed: r.sealed });
        await this.db.deleteOutbox(r.seq!);
        const now = Date.now();
        await this.db.put('lastSyncMs', now);
        status.set({ lastSyncMs: now, online: true });
      } catch (e) {
        const kind = classify(e);
        const broken = kind === 'auth' ? this.app.tampered(r) : undefined;
        if (kind === 'refused' || broken) {
          await this.quarantine(r, broken ? `${message(e)} (edited on this till: ${broken})` : message(e));
          continue;
        }
        // An intact record refused for its token or key: the till's enrollment is at fault, not the
        // record; it stays queued and goes once the daemon knows the till again.
        if (kind === 'auth') status.set({ problem: `The daemon refuses this till: ${message(e)}` });
        this.offline();
        break;
      } finally {
        await this.counts();
      }
    }
  }

  private async quarantine(r: OutboxRecord, reason: string): Promise<void> {
    const rejected = [...status.get().rejected, { id: `${r.kind} ${r.stream}`, reason: `quarantined on this till: ${reason}` }].slice(-100);
    await this.db.write({ outbox: [{ ...r, status: 'quarantined', error: reason }], kv: { rejected } });
    status.set({ rejected });
  }

  /** Recounts the outbox (after a commit or a send). */
  async counts(): Promise<void> {
    const all = await this.db.all<OutboxRecord>('outbox');
    const quarantined = all.filter((r) => r.status === 'quarantined').length;
    status.set({ outboxDepth: all.length - quarantined, quarantined });
  }

  /** Follows WatchSyncStatus for the events the region refused, until the stream breaks. */
  private async watch(): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    try {
      for await (const s of this.pos.watchSyncStatus({}, { timeoutMs: 0 })) {
        const local = status.get().rejected.filter((r) => r.reason.startsWith('quarantined'));
        const region = s.rejected.map((r) => ({ id: hex(r.eventId), reason: `refused by the region: ${r.reason}` }));
        status.set({ rejected: [...local, ...region].slice(-100) });
      }
    } catch {
      this.offline();
    } finally {
      this.watching = false;
    }
  }
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}
