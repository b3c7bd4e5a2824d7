import { describe, expect, it } from 'vitest';
import type { SalesRow } from '../api/types';
import { aggregateByBranch, aggregateByHour, currencies, eventTypes, filterSales, total } from './sales';

const row = (p: Partial<SalesRow>): SalesRow => ({
  tenant: 'acme',
  region: 1,
  branch: 'store-1',
  hour: 100,
  event_type: 'SALE_COMPLETED',
  currency: 'EUR',
  count: 1,
  amount_minor: 0,
  ...p,
});

const rows: SalesRow[] = [
  row({ hour: 100, region: 1, branch: 'store-1', count: 2, amount_minor: 10 }),
  row({ hour: 100, region: 2, branch: 'store-9', count: 1, amount_minor: 20 }),
  row({ hour: 102, region: 1, branch: 'store-1', count: 3, amount_minor: 29 }),
  row({ hour: 101, region: 1, branch: 'store-2', count: 1, amount_minor: 1 }),
  row({ hour: 100, event_type: 'SALE_REVERSED', count: 1, amount_minor: 999 }),
  row({ hour: 100, currency: 'USD', count: 5, amount_minor: 5000 }),
];

describe('sales aggregation by hour', () => {
  it('sums integers per hour, in hour order, over the filtered rows', () => {
    const eur = filterSales(rows, { eventType: 'SALE_COMPLETED', currency: 'EUR' });
    expect(aggregateByHour(eur)).toEqual([
      { hour: 100, count: 3, amountMinor: 30n },
      { hour: 101, count: 1, amountMinor: 1n },
      { hour: 102, count: 3, amountMinor: 29n },
    ]);
  });

  it('fills hours without sales with zero inside a bounded range', () => {
    const eur = filterSales(rows, { eventType: 'SALE_COMPLETED', currency: 'EUR' });
    const hours = aggregateByHour(eur, { from: 99, to: 104 });
    expect(hours.map((h) => [h.hour, h.amountMinor])).toEqual([
      [99, 0n],
      [100, 30n],
      [101, 1n],
      [102, 29n],
      [103, 0n],
    ]);
    expect(aggregateByHour(eur, { from: 0, to: 1_000_000 }).length).toBe(3); // too long to fill
  });

  it('never adds two currencies', () => {
    expect(() => aggregateByHour(rows)).toThrow(/different currencies/);
    expect(() => total(rows)).toThrow(/different currencies/);
  });

  it('stays exact past 2^53', () => {
    const big = [row({ amount_minor: Number.MAX_SAFE_INTEGER }), row({ amount_minor: Number.MAX_SAFE_INTEGER })];
    expect(aggregateByHour(big)[0]!.amountMinor).toBe(2n * BigInt(Number.MAX_SAFE_INTEGER));
    expect(total(big).amountMinor).toBe(18014398509481982n);
  });

  it('keeps every event type when asked', () => {
    const all = filterSales(rows, { eventType: null, currency: 'EUR' });
    expect(total(all)).toEqual({ count: 8, amountMinor: 1059n });
  });
});

describe('sales per region and branch', () => {
  it('groups by region, branch and currency, ordered', () => {
    const eur = filterSales(rows, { eventType: 'SALE_COMPLETED', currency: 'EUR' });
    expect(aggregateByBranch(eur)).toEqual([
      { region: 1, branch: 'store-1', currency: 'EUR', count: 5, amountMinor: 39n },
      { region: 1, branch: 'store-2', currency: 'EUR', count: 1, amountMinor: 1n },
      { region: 2, branch: 'store-9', currency: 'EUR', count: 1, amountMinor: 20n },
    ]);
  });
  it('lists currencies and types by frequency', () => {
    expect(currencies(rows)).toEqual(['EUR', 'USD']);
    expect(eventTypes(rows)).toEqual(['SALE_COMPLETED', 'SALE_REVERSED']);
  });
});
