import { describe, expect, it } from 'vitest';
import type { SalesRow, StoreRow } from '../api/types';
import { parseStoreHash, regionRejections, salesPerHour, sortStores, storeHash, storeSales, storeStock, summarizeStore } from './store';

const sale = (o: Partial<SalesRow>): SalesRow => ({
  tenant: 'acme', region: 1, branch: 'store-1', hour: 100, event_type: 'SALE_COMPLETED', currency: 'EUR', count: 1, amount_minor: 100, ...o,
});

describe('store hash', () => {
  it('round-trips tenants and branches, escaping slashes and spaces', () => {
    for (const ref of [{ tenant: 'acme', branch: 'store-1' }, { tenant: 'a/b', branch: 'Main St #2 ü' }]) {
      expect(parseStoreHash(`#${storeHash(ref)}`)).toEqual(ref);
    }
    expect(storeHash({ tenant: 'a/b', branch: 'x y' })).toBe('store/a%2Fb/x%20y');
  });

  it('names no store for other views, missing parts or bad escapes', () => {
    for (const h of ['#fleet', '#store', '#store/acme', '#store/acme/', '#store//b', '#store/a/b/c', '#store/%E0%A4/b']) {
      expect(parseStoreHash(h)).toBeNull();
    }
  });
});

describe('store rows', () => {
  const stores: StoreRow[] = [
    { tenant: 'acme', region: 2, branch: 'store-1', events: 5, last_event_ms: 2000 },
    { tenant: 'acme', region: 1, branch: 'store-1', events: 10, last_event_ms: 1000 },
    { tenant: 'acme', region: 1, branch: 'store-2', events: 3, last_event_ms: 3000 },
    { tenant: 'globex', region: 1, branch: 'store-1', events: 7, last_event_ms: 9000 },
  ];

  it('sums a store over its regions and knows none it does not list', () => {
    expect(summarizeStore(stores, { tenant: 'acme', branch: 'store-1' })).toEqual({
      tenant: 'acme', branch: 'store-1', regions: [1, 2], events: 15, lastEventMs: 2000,
    });
    expect(summarizeStore(stores, { tenant: 'acme', branch: 'store-9' })).toBeNull();
  });

  it('sorts by tenant, branch and region', () => {
    expect(sortStores(stores).map((s) => `${s.tenant}/${s.branch}/${s.region}`)).toEqual([
      'acme/store-1/1', 'acme/store-1/2', 'acme/store-2/1', 'globex/store-1/1',
    ]);
  });

  it('keeps only the store’s sales and stock (same branch name, other tenant left out)', () => {
    const rows = [sale({}), sale({ branch: 'store-2' }), sale({ tenant: 'globex' })];
    expect(storeSales(rows, { tenant: 'acme', branch: 'store-1' })).toEqual([sale({})]);
    const stock = [
      { tenant: 'acme', branch: 'store-1', sku: 'TEA', on_hand: 1 },
      { tenant: 'acme', branch: 'store-1', sku: 'COFFEE', on_hand: 2 },
      { tenant: 'acme', branch: 'store-2', sku: 'MUG', on_hand: 3 },
      { tenant: 'globex', branch: 'store-1', sku: 'CHOC', on_hand: 4 },
    ];
    expect(storeStock(stock, { tenant: 'acme', branch: 'store-1' }).map((s) => s.sku)).toEqual(['COFFEE', 'TEA']);
  });

  it('sums sales per hour and currency, newest first, counting each event type', () => {
    const hours = salesPerHour([
      sale({ hour: 100, count: 2, amount_minor: 300 }),
      sale({ hour: 100, event_type: 'SALE_REVERSED', count: 1, amount_minor: -100 }),
      sale({ hour: 101, count: 1, amount_minor: 2 ** 53 }),
      sale({ hour: 101, count: 1, amount_minor: 1 }),
      sale({ hour: 100, currency: 'CHF', count: 4, amount_minor: 50 }),
    ]);
    expect(hours).toEqual([
      { hour: 101, currency: 'EUR', count: 2, amountMinor: 2n ** 53n + 1n, byType: { SALE_COMPLETED: 2 } },
      { hour: 100, currency: 'CHF', count: 4, amountMinor: 50n, byType: { SALE_COMPLETED: 4 } },
      { hour: 100, currency: 'EUR', count: 3, amountMinor: 200n, byType: { SALE_COMPLETED: 2, SALE_REVERSED: 1 } },
    ]);
    expect(salesPerHour([])).toEqual([]);
  });

  it('picks the refusals of the store’s regions (the rows carry no branch)', () => {
    const rejected = [
      { region: 1, position: 1, event_id: 'a', reason: 'bad signature' },
      { region: 2, position: 2, event_id: 'b', reason: 'chain broken' },
      { region: 3, position: 3, event_id: 'c', reason: 'malformed' },
    ];
    expect(regionRejections(rejected, [1, 2]).map((r) => r.event_id)).toEqual(['a', 'b']);
    expect(regionRejections(rejected, [])).toEqual([]);
  });
});
