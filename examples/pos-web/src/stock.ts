// Stock as the till shows it: the store's last figures less what the till's queued sales took
// since (a sale leaves the shelf when it is rung up, not when the store hears of it).

import type { OutboxRecord } from './db.js';

/** The store's `synced` figures less the units of every queued sale in `outbox`. */
export function onShelf(synced: Record<string, bigint>, outbox: readonly OutboxRecord[]): Record<string, bigint> {
  const out = { ...synced };
  for (const r of outbox) {
    if (r.status !== 'queued') continue; // a quarantined sale will not reach the store
    for (const [sku, n] of Object.entries(r.moves ?? {})) out[sku] = (out[sku] ?? 0n) - BigInt(n);
  }
  return out;
}
