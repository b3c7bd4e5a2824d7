// Aggregation of the hourly sales rows for the Sales view. Amounts are summed as BigInt
// (integers, exact beyond 2^53) and formatted only at the end.

import type { SalesRow } from '../api/types';

export interface SalesFilter {
  /** An event type ("SALE_COMPLETED"), or null for every type. */
  eventType: string | null;
  /** A currency; rows of other currencies are left out (amounts of two currencies never add). */
  currency: string | null;
}

export function filterSales(rows: readonly SalesRow[], f: SalesFilter): SalesRow[] {
  return rows.filter(
    (r) => (f.eventType === null || r.event_type === f.eventType) && (f.currency === null || r.currency === f.currency),
  );
}

export interface HourTotal {
  hour: number;
  count: number;
  amountMinor: bigint;
}

function oneCurrency(rows: readonly SalesRow[]): void {
  const first = rows[0]?.currency;
  if (rows.some((r) => r.currency !== first)) {
    throw new Error(`amounts in different currencies cannot be summed (${[...currencies(rows)].join(', ')}): filter by currency first`);
  }
}

/**
 * Sums amount and count per hour over `rows` (all of one currency), in hour order. With
 * `fill` ({from, to}: hours, `to` excluded), hours in that range without sales appear with 0,
 * as long as the range is at most `maxFill` hours long.
 */
export function aggregateByHour(
  rows: readonly SalesRow[],
  fill?: { from: number; to: number },
  maxFill = 24 * 62,
): HourTotal[] {
  oneCurrency(rows);
  const byHour = new Map<number, HourTotal>();
  for (const r of rows) {
    const t = byHour.get(r.hour) ?? { hour: r.hour, count: 0, amountMinor: 0n };
    t.count += r.count;
    t.amountMinor += BigInt(r.amount_minor);
    byHour.set(r.hour, t);
  }
  if (fill && fill.to > fill.from && fill.to - fill.from <= maxFill) {
    for (let h = fill.from; h < fill.to; h++) {
      if (!byHour.has(h)) byHour.set(h, { hour: h, count: 0, amountMinor: 0n });
    }
  }
  return [...byHour.values()].sort((a, b) => a.hour - b.hour);
}

export interface BranchTotal {
  region: number;
  branch: string;
  currency: string;
  count: number;
  amountMinor: bigint;
}

/** Sums per region and branch (and currency), ordered by region, then branch. */
export function aggregateByBranch(rows: readonly SalesRow[]): BranchTotal[] {
  const by = new Map<string, BranchTotal>();
  for (const r of rows) {
    const key = JSON.stringify([r.region, r.branch, r.currency]);
    const t = by.get(key) ?? { region: r.region, branch: r.branch, currency: r.currency, count: 0, amountMinor: 0n };
    t.count += r.count;
    t.amountMinor += BigInt(r.amount_minor);
    by.set(key, t);
  }
  return [...by.values()].sort(
    (a, b) => a.region - b.region || a.branch.localeCompare(b.branch) || a.currency.localeCompare(b.currency),
  );
}

/** The total of rows of one currency. */
export function total(rows: readonly SalesRow[]): { count: number; amountMinor: bigint } {
  oneCurrency(rows);
  let count = 0;
  let amountMinor = 0n;
  for (const r of rows) {
    count += r.count;
    amountMinor += BigInt(r.amount_minor);
  }
  return { count, amountMinor };
}

/** The distinct currencies, most rows first. */
export function currencies(rows: readonly SalesRow[]): string[] {
  return distinct(rows.map((r) => r.currency));
}

/** The distinct event types, most rows first. */
export function eventTypes(rows: readonly SalesRow[]): string[] {
  return distinct(rows.map((r) => r.event_type));
}

function distinct(values: string[]): string[] {
  const n = new Map<string, number>();
  for (const v of values) n.set(v, (n.get(v) ?? 0) + 1);
  return [...n.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([v]) => v);
}
