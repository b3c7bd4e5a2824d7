/** One queued entry: its sequence number, the bytes and the optional deduplication key. */
export interface QueueEntry {
  seq: number;
  bytes: Uint8Array;
  key?: string;
}

/** Anything with `toBytes()` and an `idempotencyKey`, such as the package's `Event`. */
export interface QueueableEvent {
  toBytes(): Uint8Array;
  readonly idempotencyKey: string;
}

/** A FIFO of encoded events kept in IndexedDB until the caller confirms delivery. */
export declare class OfflineQueue {
  /** Opens (creating if needed) the queue database `name`. */
  static open(options?: { name?: string; indexedDB?: IDBFactory }): Promise<OfflineQueue>;
  /** Appends bytes; with a key, a repeated key returns the first entry's number. */
  enqueue(bytes: Uint8Array, options?: { key?: string }): Promise<number>;
  /** Enqueues an event under its idempotency key. */
  enqueueEvent(event: QueueableEvent): Promise<number>;
  /** The oldest `limit` entries, without removing them. */
  peek(limit?: number): Promise<QueueEntry[]>;
  /** Removes the entries `seqs`, confirming their delivery. */
  ack(seqs: number[]): Promise<void>;
  /** Sends batches in order; a batch is removed only after `send` resolves. */
  drain(send: (batch: QueueEntry[]) => unknown | Promise<unknown>, options?: { batchSize?: number }): Promise<number>;
  /** The number of queued entries. */
  size(): Promise<number>;
  /** Closes the database connection. */
  close(): void;
}
