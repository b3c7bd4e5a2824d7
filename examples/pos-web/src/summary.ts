// The end-of-day summary computed from the till's own receipts, the way the daemon's
// projection computes it (dcs-core DailySales): a refund counts on its own day.

export interface Receipt {
  id: string;
  kind: 'sale' | 'refund';
  at: number; // Unix ms
  net: bigint;
  tax: bigint;
  total: bigint;
}
export interface DayTotals { day: string; salesCount: number; refundCount: number; gross: bigint; refunds: bigint; net: bigint; tax: bigint }

/** The business day (`YYYY-MM-DD`) of a Unix time at a store's UTC offset. */
export function businessDay(unixMs: number, utcOffsetMinutes: number): string {
  return new Date(unixMs + utcOffsetMinutes * 60_000).toISOString().slice(0, 10);
}

export function daySummary(receipts: Receipt[], day: string, utcOffsetMinutes: number): DayTotals {
  const t: DayTotals = { day, salesCount: 0, refundCount: 0, gross: 0n, refunds: 0n, net: 0n, tax: 0n };
  for (const r of receipts) {
    if (businessDay(r.at, utcOffsetMinutes) !== day) continue;
    if (r.kind === 'sale') {
      t.salesCount++; t.gross += r.total; t.net += r.net; t.tax += r.tax;
    } else {
      t.refundCount++; t.refunds += r.total; t.net -= r.net; t.tax -= r.tax;
    }
  }
  return t;
}
