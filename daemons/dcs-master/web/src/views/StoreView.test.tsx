import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SalesRow, StockRow, StoreRow } from '../api/types';
import { App } from '../App';
import { hourOf } from '../lib/time';
import { json, stubFetch } from '../test/fetch';
import { signedInAs } from '../test/session';
import { StoresView } from './StoresView';
import { StoreView } from './StoreView';

const now = Date.now();
const hour = hourOf(now);

const STORES: StoreRow[] = [
  { tenant: 'acme', region: 1, branch: 'store-2', events: 40, last_event_ms: now - 60_000 },
  { tenant: 'acme', region: 1, branch: 'store-1', events: 1234, last_event_ms: now - 12_000 },
  { tenant: 'acme', region: 2, branch: 'store-7', events: 5, last_event_ms: now - 5 * 60_000 },
];

const sale = (o: Partial<SalesRow>): SalesRow => ({
  tenant: 'acme', region: 1, branch: 'store-1', hour, event_type: 'SALE_COMPLETED', currency: 'EUR', count: 2, amount_minor: 1050, ...o,
});
const SALES: SalesRow[] = [sale({}), sale({ hour: hour - 1, count: 1, amount_minor: 300 }), sale({ branch: 'store-2', count: 9, amount_minor: 99_900 })];
const STOCK: StockRow[] = [
  { tenant: 'acme', branch: 'store-1', sku: 'TEA-GREEN-100G', on_hand: 0 },
  { tenant: 'acme', branch: 'store-1', sku: 'COFFEE-250G', on_hand: 42 },
  { tenant: 'acme', branch: 'store-2', sku: 'MUG-WHITE', on_hand: 7 },
];
const REJECTED = [
  { region: 1, position: 9912, event_id: 'ev-r1', reason: 'bad signature' },
  { region: 3, position: 17, event_id: 'ev-r3', reason: 'chain broken' },
];

const forbidden = () => json(403, { error: 'alice may not read tenant "globex": that needs the viewer role there' });

function routes(over: Record<string, () => Response | Promise<Response>> = {}) {
  return stubFetch({
    '/api/v1/stores': () => json(200, { stores: STORES }),
    '/api/v1/sales': () => json(200, { sales: SALES }),
    '/api/v1/stock': () => json(200, { stock: STOCK }),
    '/api/v1/rejected': () => json(200, { rejected: REJECTED }),
    '/api/v1/regions': () => json(200, { regions: [] }),
    '/api/v1/summaries': () => json(200, { count: 0, page: [] }),
    ...over,
  });
}

const acme1 = { tenant: 'acme', branch: 'store-1' };
const cells = (r: HTMLElement) => within(r).getAllByRole('cell').map((c) => c.textContent);
const bodyRows = (table: HTMLElement) => within(table).getAllByRole('row').slice(1);
const tableNamed = (re: RegExp) => screen.getAllByRole('table').find((t) => re.test(t.querySelector('caption')?.textContent ?? ''));
// Waits for the table whose caption matches (each section loads on its own).
const findTable = (re: RegExp) =>
  waitFor(() => {
    const t = tableNamed(re);
    if (!t) throw new Error(`no table captioned ${re} yet`);
    return t;
  });

beforeEach(() => {
  signedInAs();
});

describe('Stores list', () => {
  it('shows a loading state, then the stores sorted with a link to each store’s page', async () => {
    routes({ '/api/v1/stores': () => new Promise<Response>(() => {}) });
    const { unmount } = render(<StoresView />);
    expect(screen.getByRole('status').textContent).toMatch(/Loading the stores/);
    unmount();

    routes();
    render(<StoresView />);
    const table = await screen.findByRole('table');
    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Tenant', 'Branch', 'Region', 'Events', 'Last event']);
    const rows = bodyRows(table);
    expect(rows.map((r) => cells(r)[1])).toEqual(['store-1', 'store-2', 'store-7']);
    expect(cells(rows[0]!)).toEqual(['acme', 'store-1', '1', '1,234', '12 s ago']);
    const link = within(rows[0]!).getByRole('link', { name: 'Open store store-1 of acme' });
    expect(link.getAttribute('href')).toBe('#store/acme/store-1');
  });

  it('says why there is no store, and filters by search', async () => {
    routes({ '/api/v1/stores': () => json(200, { stores: [] }) });
    const { unmount } = render(<StoresView />);
    expect(await screen.findByText('No stores yet')).toBeTruthy();
    unmount();
    routes();
    render(<StoresView />);
    await screen.findByRole('table');
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'STORE-7' } });
    expect(bodyRows(screen.getByRole('table'))).toHaveLength(1);
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'nope' } });
    expect(screen.getByText('No store matches')).toBeTruthy();
  });

  it('shows what failed with Retry; a 403 is the no-access state', async () => {
    let fail = true;
    routes({ '/api/v1/stores': () => (fail ? json(503, { error: 'busy' }) : json(200, { stores: STORES })) });
    const { unmount } = render(<StoresView />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Could not load the stores/);
    fail = false;
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('table')).toBeTruthy();
    unmount();

    routes({ '/api/v1/stores': forbidden });
    render(<StoresView />);
    expect((await screen.findByTestId('no-access')).textContent).toMatch(/The master said: alice may not read/);
  });

  it('asks for the one tenant a viewer has', async () => {
    signedInAs([{ tenant: 'acme', role: 'viewer' }], 'alice');
    const { calls } = routes();
    render(<StoresView />);
    await screen.findByRole('table');
    expect(calls[0]!.url).toBe('/api/v1/stores?tenant=acme');
    expect(screen.queryByRole('columnheader', { name: 'Tenant' })).toBeNull();
  });
});

describe('Store page', () => {
  it('shows a loading state while the master has not answered', () => {
    routes({ '/api/v1/stock': () => new Promise<Response>(() => {}) });
    render(<StoreView store={acme1} />);
    expect(screen.getByRole('status').textContent).toMatch(/Loading store store-1/);
  });

  it('shows the store: tenant, region, events, last event, its own sales per hour and stock, and its region’s refusals', async () => {
    const { calls } = routes();
    render(<StoreView store={acme1} />);
    expect((await screen.findByTestId('store-tenant')).textContent).toBe('acme');
    expect(screen.getByTestId('store-region').textContent).toBe('1');
    expect(screen.getByTestId('store-events').textContent).toBe('1,234');
    const last = within(screen.getByTestId('store-last-event')).getByText('12 s ago');
    expect(last.tagName).toBe('TIME');
    expect(document.activeElement).toBe(screen.getByTestId('store-title'));

    const urls = calls.map((c) => c.url);
    expect(urls).toContain('/api/v1/stores?tenant=acme');
    expect(urls).toContain(`/api/v1/sales?tenant=acme&from_hour=${hour + 1 - 24}&to_hour=${hour + 1}`);
    expect(urls).toContain('/api/v1/stock?tenant=acme');

    const sales = bodyRows(await findTable(/^Sales of this store/));
    expect(sales).toHaveLength(2); // store-2's row left out
    expect(cells(sales[0]!)[1]).toBe('2');
    expect(cells(sales[0]!)[2]).toBe('SALE_COMPLETED 2');
    expect(cells(sales[0]!)[3]).toMatch(/10[.,]50/);
    expect(cells(sales[1]!)[3]).toMatch(/3[.,]00/);

    const stock = bodyRows(await findTable(/^Stock on hand of this store/));
    expect(stock.map((r) => cells(r)[0])).toEqual(['COFFEE-250G', 'TEA-GREEN-100G']);
    expect(cells(stock[1]!)[1]).toMatch(/out of stock/);

    const rejected = await findTable(/refused from region 1/);
    expect(bodyRows(rejected).map((r) => cells(r)[2])).toEqual(['ev-r1']);
    expect(screen.getByTestId('rejections-note').textContent).toMatch(/Per-store errors need the regions to forward their refusals/);
  });

  it('says so when the store has no sales, no stock and its region no refusal', async () => {
    routes({
      '/api/v1/sales': () => json(200, { sales: [] }),
      '/api/v1/stock': () => json(200, { stock: [] }),
      '/api/v1/rejected': () => json(200, { rejected: [REJECTED[1]] }),
    });
    render(<StoreView store={acme1} />);
    expect(await screen.findByText('No sales')).toBeTruthy();
    expect(screen.getByText('No stock levels')).toBeTruthy();
    expect(await screen.findByText('No rejected events in region 1')).toBeTruthy();
  });

  it('says when the master lists no such store', async () => {
    routes();
    render(<StoreView store={{ tenant: 'acme', branch: 'store-99' }} />);
    expect(await screen.findByText('No such store')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Back to all stores' }).getAttribute('href')).toBe('#stores');
  });

  it('shows what failed with Retry, and Retry loads again', async () => {
    let fail = true;
    routes({ '/api/v1/sales': () => (fail ? json(503, { error: 'the master is busy or stopping: retry' }) : json(200, { sales: SALES })) });
    render(<StoreView store={acme1} />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Could not load store store-1/);
    expect(alert.textContent).toMatch(/\(503\): the master is busy/);
    fail = false;
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('store-tenant')).toBeTruthy();
  });

  it('a viewer of acme opening a globex store gets the no-access state and no call', () => {
    signedInAs([{ tenant: 'acme', role: 'viewer' }], 'alice');
    const { calls } = routes();
    render(<StoreView store={{ tenant: 'globex', branch: 'ch-1' }} />);
    const state = screen.getByTestId('no-access');
    expect(state.textContent).toMatch(/You don't have access to the stores of globex/);
    expect(state.textContent).toMatch(/viewer on acme/);
    expect(screen.queryByRole('alert')).toBeNull();
    expect(calls).toHaveLength(0);
  });

  it('a 403 from the master is shown as no access, without Retry', async () => {
    routes({ '/api/v1/stores': forbidden, '/api/v1/sales': forbidden, '/api/v1/stock': forbidden });
    render(<StoreView store={{ tenant: 'globex', branch: 'ch-1' }} />);
    const state = await screen.findByTestId('no-access');
    expect(state.textContent).toMatch(/The master said: alice may not read tenant "globex"/);
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
  });

  it('a viewer of the tenant sees the store but not the refusals, which are not asked for', async () => {
    signedInAs([{ tenant: 'acme', role: 'viewer' }], 'alice');
    const { calls } = routes();
    render(<StoreView store={acme1} />);
    await screen.findByTestId('store-tenant');
    expect(screen.getByTestId('no-access').textContent).toMatch(/rejected events/);
    expect(calls.some((c) => c.url.startsWith('/api/v1/rejected'))).toBe(false);
  });
});

describe('Store page in the dashboard', () => {
  afterEach(() => history.replaceState(null, '', '/'));

  it('opens from its bookmark, goes back to the list and to the store again by the hash', async () => {
    routes();
    history.replaceState(null, '', '/#store/acme/store-1');
    render(<App />);
    expect((await screen.findByTestId('store-title')).textContent).toMatch(/Store store-1 of acme/);
    expect(screen.getByRole('tab', { name: 'Stores' }).getAttribute('aria-selected')).toBe('true');

    await act(async () => {
      history.pushState(null, '', '/#stores');
      globalThis.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    const link = await screen.findByRole('link', { name: 'Open store store-7 of acme' });
    expect(screen.queryByTestId('store-title')).toBeNull();

    await act(async () => {
      history.pushState(null, '', `/${link.getAttribute('href')}`);
      globalThis.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    expect((await screen.findByTestId('store-title')).textContent).toMatch(/Store store-7 of acme/);
    expect((await screen.findByTestId('store-region')).textContent).toBe('2');
  });
});
