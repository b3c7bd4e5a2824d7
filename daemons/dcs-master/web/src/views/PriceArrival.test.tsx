import { render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { signedInAs } from '../test/session';
import { json, stubFetch } from '../test/fetch';
import { formatAfter, PriceArrival } from './PriceArrival';

beforeEach(() => {
  signedInAs();
});

const arrival = (stores: Array<[number, number, number | null]>) => ({
  sku: 'MUG',
  price_minor: 450,
  position: 7,
  set_ms: 1_000,
  arrived: stores.filter((s) => s[2] !== null).length,
  stores: stores.map(([region, store, after]) => ({
    region,
    store,
    // Store 1 is named by its events' branch; the others have sent none yet.
    branch: store === 1 ? 'lisbon-1' : null,
    arrived_ms: after === null ? null : 1_000 + after,
    after_ms: after,
  })),
});

describe('Price arrival', () => {
  it('shows each store as arrived or waiting, and follows the reports as they come', async () => {
    let body = arrival([
      [0, 1, 1_200],
      [0, 2, null],
    ]);
    const { calls } = stubFetch({ '/api/v1/prices/MUG/arrival': () => json(200, body) });
    render(<PriceArrival sku="MUG" currency="EUR" version={0} refreshMs={20} />);
    expect((await screen.findByTestId('arrival-summary')).textContent).toBe('€4.50 has reached 1 of 2 stores.');
    expect(screen.getByTestId('arrival-0-1').textContent).toMatch(/lisbon-1 · store 1.*Arrived.*1\.2 s/);
    expect(screen.getByTestId('arrival-0-2').textContent).toMatch(/Store 2.*Waiting.*—/);
    body = arrival([
      [0, 1, 1_200],
      [0, 2, 4_000],
    ]);
    await screen.findByText((_, el) => el?.getAttribute('data-testid') === 'arrival-summary' && /2 of 2/.test(el.textContent ?? ''));
    expect(screen.getByTestId('arrival-0-2').textContent).toMatch(/Arrived.*4\.0 s/);
    expect(calls[0]!.url).toBe('/api/v1/prices/MUG/arrival');
  });

  it('says when no change is kept, when no store reported, and when the account may not see it', async () => {
    stubFetch({
      '/api/v1/prices/MUG/arrival': () =>
        json(200, { sku: 'MUG', price_minor: null, currency: 'USD', position: null, set_ms: null, arrived: 0, stores: [] }),
    });
    const { unmount } = render(<PriceArrival sku="MUG" currency="EUR" version={0} refreshMs={10_000} />);
    expect(await screen.findByText('No change to follow')).toBeTruthy();
    unmount();
    stubFetch({ '/api/v1/prices/MUG/arrival': () => json(200, arrival([])) });
    const second = render(<PriceArrival sku="MUG" currency="EUR" version={0} refreshMs={10_000} />);
    expect(await screen.findByText('No store reported yet')).toBeTruthy();
    second.unmount();
    stubFetch({ '/api/v1/prices/MUG/arrival': () => json(403, { error: 'role: a grant on * is needed' }) });
    render(<PriceArrival sku="MUG" currency="EUR" version={0} refreshMs={10_000} />);
    expect((await screen.findByTestId('no-access')).textContent).toMatch(/grant on every tenant/);
  });

  it('says how long a change took in units a person reads', () => {
    expect(formatAfter(1_234)).toBe('1.2 s');
    expect(formatAfter(45_400)).toBe('45 s');
    expect(formatAfter(360_000)).toBe('6 min');
  });
});
