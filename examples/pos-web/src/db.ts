// The till's replica in IndexedDB: settings and state (`kv`), the outbox of sealed commands,
// receipts (sales and refunds) and sessions. A sale's seal is committed in one transaction:
// the till's clocks, the session, the receipt and the outbox record, or none of them.

export interface OutboxRecord {
  seq?: number;
  key: string;            // the command's idempotency key
  kind: 'open' | 'sale' | 'refund' | 'close';
  stream: string;
  sealed: Uint8Array[];   // canonical bytes, resent unchanged on every retry
  eventIds: string[];
  at: number;
  status: 'queued' | 'quarantined';
  error?: string;
  moves?: Record<string, number>; // units a sale takes off the shelf, per SKU (until synced)
}

export interface ReceiptLine { sku: string; name: string; quantity: number; unitPrice: bigint; discount: bigint; net: bigint; tax: bigint; gross: bigint }
export interface ReceiptRecord {
  id: string;             // sale id or refund id
  kind: 'sale' | 'refund';
  saleId: string;
  sessionId: string;
  cashier: string;        // the cashier's name
  at: number;
  currency: string;
  lines: ReceiptLine[];
  subtotal: bigint; discount: bigint; net: bigint; tax: bigint; total: bigint;
  tender: Tender;
  tendered?: bigint;
  change?: bigint;
  giftCard?: string;
  reason?: string;
  state?: Uint8Array;                 // the sale's state (refunds need it)
  refunded?: Record<string, number>;  // units refunded so far, per SKU
}

export interface SessionRecord {
  id: string; cashier: string; openedAt: number; openingFloat: bigint; state: Uint8Array;
  closedAt?: number; counted?: bigint; expected?: bigint; variance?: bigint;
}

export type Tender = 'cash' | 'card' | 'giftCard';
type StoreName = 'kv' | 'outbox' | 'receipts' | 'sessions';

export const DB_NAME = 'dcs-till';

function done(req: IDBRequest): Promise<any> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export class TillDb {
  private constructor(private db: IDBDatabase) {}

  static async open(name = DB_NAME): Promise<TillDb> {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('kv');
      db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
      db.createObjectStore('receipts', { keyPath: 'id' });
      db.createObjectStore('sessions', { keyPath: 'id' });
    };
    return new TillDb(await done(req));
  }

  get<T>(key: string): Promise<T | undefined> {
    return done(this.db.transaction('kv').objectStore('kv').get(key));
  }

  put(key: string, value: unknown): Promise<void> {
    return this.write({ kv: { [key]: value } });
  }

  /** Writes everything in one transaction; resolves once it is committed. */
  write(w: { kv?: Record<string, unknown>; outbox?: OutboxRecord[]; receipts?: ReceiptRecord[]; sessions?: SessionRecord[] }): Promise<void> {
    const names = (Object.keys(w) as StoreName[]).filter((k) => w[k] !== undefined);
    const tx = this.db.transaction(names, 'readwrite', { durability: 'strict' });
    for (const [k, v] of Object.entries(w.kv ?? {})) tx.objectStore('kv').put(v, k);
    for (const r of w.outbox ?? []) tx.objectStore('outbox').put(r);
    for (const r of w.receipts ?? []) tx.objectStore('receipts').put(r);
    for (const r of w.sessions ?? []) tx.objectStore('sessions').put(r);
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    });
  }

  all<T>(store: 'outbox' | 'receipts' | 'sessions'): Promise<T[]> {
    return done(this.db.transaction(store).objectStore(store).getAll());
  }

  receipt(id: string): Promise<ReceiptRecord | undefined> {
    return done(this.db.transaction('receipts').objectStore('receipts').get(id));
  }

  /** The oldest queued outbox record, if any. */
  async nextQueued(): Promise<OutboxRecord | undefined> {
    return (await this.all<OutboxRecord>('outbox')).find((r) => r.status === 'queued');
  }

  async deleteOutbox(seq: number): Promise<void> {
    const tx = this.db.transaction('outbox', 'readwrite');
    tx.objectStore('outbox').delete(seq);
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
  }
}
