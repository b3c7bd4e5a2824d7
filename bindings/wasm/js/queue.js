// The offline event queue of the browser POS: events wait in IndexedDB until they are sent.
//
// enqueue() writes in a durable ("strict") transaction, so a queued event survives a reload or a
// crash. peek() and drain() hand events out oldest first; an event leaves the queue only when
// the caller confirms it was delivered (ack(), or drain()'s send callback resolving).

const STORE = 'events';
const BY_KEY = 'by-key';
const VERSION = 1;

/** Wraps an IDBRequest in a promise of its result. */
function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`IndexedDB request failed: ${req.error?.message ?? req.error}`));
  });
}

/** Resolves when the transaction has committed; rejects when it aborts. */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    const fail = () => reject(new Error(`IndexedDB transaction failed: ${tx.error?.message ?? 'aborted'}`));
    tx.onerror = fail;
    tx.onabort = fail;
  });
}

/** Checks that `bytes` is a Uint8Array and returns a copy the queue owns. */
function ownBytes(bytes) {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`queue entries must be Uint8Array bytes, got ${bytes === null ? 'null' : typeof bytes}`);
  }
  return new Uint8Array(bytes);
}

/** A FIFO of encoded events kept in IndexedDB. */
export class OfflineQueue {
  /** Opens (creating if needed) the queue database `name`; `indexedDB` defaults to the global one. */
  static async open({ name = 'dcs-offline-queue', indexedDB = globalThis.indexedDB } = {}) {
    if (!indexedDB) {
      throw new Error('IndexedDB is not available here: pass { indexedDB } to OfflineQueue.open');
    }
    const req = indexedDB.open(name, VERSION);
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
      store.createIndex(BY_KEY, 'key', { unique: true });
    };
    return new OfflineQueue(await request(req));
  }

  /** Use OfflineQueue.open. */
  constructor(db) {
    this.db = db;
  }

  /**
   * Appends `bytes` (e.g. `event.toBytes()`) and returns its sequence number. With a `key`
   * (e.g. the idempotency key) a second enqueue of the same key returns the first entry's number
   * and stores nothing.
   */
  async enqueue(bytes, { key } = {}) {
    const entry = { bytes: ownBytes(bytes) };
    if (key !== undefined) {
      if (typeof key !== 'string' || key === '') throw new TypeError('key must be a non-empty string');
      entry.key = key;
    }
    const tx = this.db.transaction(STORE, 'readwrite', { durability: 'strict' });
    const store = tx.objectStore(STORE);
    const done = committed(tx);
    const existing = key === undefined ? undefined : await request(store.index(BY_KEY).getKey(key));
    const seq = existing ?? (await request(store.add(entry)));
    await done;
    return seq;
  }

  /** Enqueues an `Event` of the dcs package under its idempotency key. */
  async enqueueEvent(event) {
    return this.enqueue(event.toBytes(), { key: event.idempotencyKey });
  }

  /** The oldest `limit` entries, `{ seq, bytes, key }`, without removing them. */
  async peek(limit = 100) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    const tx = this.db.transaction(STORE, 'readonly');
    const done = committed(tx);
    const entries = await request(tx.objectStore(STORE).getAll(null, limit));
    await done;
    return entries.map(({ seq, bytes, key }) => ({ seq, bytes, key }));
  }

  /** Removes the entries with sequence numbers `seqs`, confirming their delivery. */
  async ack(seqs) {
    if (!Array.isArray(seqs) || !seqs.every(Number.isSafeInteger)) {
      throw new TypeError('ack takes an array of sequence numbers from peek or drain');
    }
    const tx = this.db.transaction(STORE, 'readwrite', { durability: 'strict' });
    const store = tx.objectStore(STORE);
    const done = committed(tx);
    for (const seq of seqs) store.delete(seq);
    await done;
  }

  /**
   * Hands the queue to `send(batch)` in order, `batchSize` entries at a time; each batch is
   * removed only after `send` resolves. If `send` throws, the batch stays queued and the error is
   * rethrown. Returns how many entries were delivered.
   */
  async drain(send, { batchSize = 50 } = {}) {
    if (typeof send !== 'function') throw new TypeError('drain needs a send(batch) function');
    let delivered = 0;
    for (;;) {
      const batch = await this.peek(batchSize);
      if (batch.length === 0) return delivered;
      await send(batch);
      await this.ack(batch.map((e) => e.seq));
      delivered += batch.length;
    }
  }

  /** The number of queued entries. */
  async size() {
    const tx = this.db.transaction(STORE, 'readonly');
    const done = committed(tx);
    const n = await request(tx.objectStore(STORE).count());
    await done;
    return n;
  }

  /** Closes the database connection. */
  close() {
    this.db.close();
  }
}
