// One store (a tenant's branch) for the store drill-down: its address in the URL hash
// (`#store/<tenant>/<branch>`, each part percent-encoded), and its rows picked out of the
// master's per-tenant answers (stores, sales, stock) and of its refusals.

import type { RejectedEvent, SalesRow, StockRow, StoreRow } from '../api/types';

export interface StoreRef {
  tenant: string;
  branch: string;
}

/** The hash of a store's page, without the `#`: "store/acme/store-1". */
export function storeHash(ref: StoreRef): string {
  return `store/${encodeURIComponent(ref.tenant)}/${encodeURIComponent(ref.branch)}`;
}

/** The store a hash names ("#store/acme/store-1"), or null when it names none. */
export function parseStoreHash(hash: string): StoreRef | null {
  const m = /^#?store\/([^/]+)\/([^/]+)$/.exec(hash);
  if (!m) return null;
  try {
    const tenant = decodeURIComponent(m[1]!);
    const branch = decodeURIComponent(m[2]!);
    return tenant && branch ? { tenant, branch } : null;
  } catch {
    return null; // a malformed %-escape
  }
}

const of = (ref: StoreRef) => (r: { tenant: string; branch: string }) => r.tenant === ref.tenant && r.branch === ref.branch;

export interface StoreSummary extends StoreRef {
  /** The regions that reported it, ascending (one, unless the branch moved). */
  regions: number[];
  events: number;
  /** The newest event of any of its rows. */
  lastEventMs: number;
}

/** The store's rows of `GET /api/v1/stores` summed up, or null when the master lists none. */
export function summarizeStore(rows: readonly StoreRow[], ref: StoreRef): StoreSummary | null {
  const mine = rows.filter(of(ref));
  if (mine.length === 0) return null;
  return {
    ...ref,
    regions: [...new Set(mine.map((r) => r.region))].sort((a, b) => a - b),
    events: mine.reduce((n, r) => n + r.events, 0),
    lastEventMs: Math.max(...mine.map((r) => r.last_event_ms)),
  };
}

/** The stores in list order: tenant, branch, then region. */
export function sortStores(rows: readonly StoreRow[]): StoreRow[] {
  return [...rows].sort((a, b) => a.tenant.localeCompare(b.tenant) || a.branch.localeCompare(b.branch) || a.region - b.region);
}

/** The store's sales rows. */
export function storeSales(rows: readonly SalesRow[], ref: StoreRef): SalesRow[] {
  return rows.filter(of(ref));
}

/** One hour of a store's sales: count and amount per currency (amounts of two never add). */
export interface StoreHour {
  hour: number;
  currency: string;
  count: number;
  amountMinor: bigint;
  /** Count per event type ("SALE_COMPLETED": 3). */
  byType: Record<string, number>;
}

/** The store's sales per hour and currency, newest hour first. */
export function salesPerHour(rows: readonly SalesRow[]): StoreHour[] {
  const by = new Map<string, StoreHour>();
  for (const r of rows) {
    const key = `${r.hour}/${r.currency}`;
    const h = by.get(key) ?? { hour: r.hour, currency: r.currency, count: 0, amountMinor: 0n, byType: {} };
    h.count += r.count;
    h.amountMinor += BigInt(r.amount_minor);
    h.byType[r.event_type] = (h.byType[r.event_type] ?? 0) + r.count;
    by.set(key, h);
  }
  return [...by.values()].sort((a, b) => b.hour - a.hour || a.currency.localeCompare(b.currency));
}

/** The store's stock rows, by SKU. */
export function storeStock(rows: readonly StockRow[], ref: StoreRef): StockRow[] {
  return rows.filter(of(ref)).sort((a, b) => a.sku.localeCompare(b.sku));
}

/**
 * What the master's refusals can say about a store. Its rows carry region, position, event
 * id and reason, but no tenant or branch: the most it can show is the refusals of the
 * store's regions, which may be any store's of those regions.
 */
export function regionRejections(rows: readonly RejectedEvent[], regions: readonly number[]): RejectedEvent[] {
  return rows.filter((r) => regions.includes(r.region));
}
