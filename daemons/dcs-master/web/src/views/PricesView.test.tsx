import { fireEvent, render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { signedInAs } from '../test/session';
import { ToastProvider } from '../components/ui/toast';
import { json, stubFetch } from '../test/fetch';
import { PricesView } from './PricesView';

beforeEach(() => {
  signedInAs();
});

const view = () =>
  render(
    <ToastProvider>
      <PricesView />
    </ToastProvider>,
  );

describe('Prices view', () => {
  it('looks a SKU up, refuses a bad price under the field, and sets a good one in minor units', async () => {
    let price: number | null = null;
    const { calls } = stubFetch({
      '/api/v1/prices': () => json(200, { prices: [{ sku: 'COFFEE-250G', price_minor: price }] }),
      '/api/v1/prices/COFFEE-250G': (_u, init) => {
        price = (JSON.parse(String(init.body)) as { price_minor: number }).price_minor;
        return json(200, { sku: 'COFFEE-250G', price_minor: price, position: 3 });
      },
      '/api/v1/prices/COFFEE-250G/arrival': () =>
        price === null
          ? json(200, { sku: 'COFFEE-250G', price_minor: null, currency: 'EUR', position: null, set_ms: null, arrived: 0, stores: [] })
          : json(200, {
              sku: 'COFFEE-250G',
              price_minor: price,
              position: 3,
              set_ms: 1,
              arrived: 1,
              stores: [{ region: 0, store: 1, branch: 'lisbon-1', arrived_ms: 900, after_ms: 899 }],
            }),
    });
    view();
    fireEvent.change(screen.getByLabelText('SKU'), { target: { value: 'COFFEE-250G' } });
    fireEvent.click(screen.getByRole('button', { name: 'Look up' }));
    expect((await screen.findByTestId('central-price')).textContent).toBe('Not set');
    expect(calls[0]!.url).toBe('/api/v1/prices?sku=COFFEE-250G');

    const input = screen.getByLabelText('New price (EUR)');
    fireEvent.change(input, { target: { value: '4.505' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set price…' }));
    expect(screen.getByText('EUR has 2 decimals: "4.505" has 3')).toBeTruthy();
    expect(input.getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(input, { target: { value: '-1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set price…' }));
    expect(screen.getByText('A price cannot be negative')).toBeTruthy();

    fireEvent.change(input, { target: { value: '4.50' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set price…' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog.textContent).toMatch(/€4\.50 \(450 minor units\)/);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Set price' }));
    await screen.findByText('450 minor units');
    expect(screen.getByTestId('central-price').textContent).toBe('€4.50');
    const put = calls.filter((c) => c.init.method === 'PUT');
    expect(put.map((c) => c.init.body)).toEqual(['{"price_minor":450,"currency":"EUR"}']);
    // The change is then followed store by store.
    expect((await screen.findByTestId('arrival-summary')).textContent).toBe('€4.50 has reached 1 of 1 store.');
  });

  it('shows the master’s 400 under the SKU field', async () => {
    stubFetch({ '/api/v1/prices': () => json(400, { error: 'sku: must be 1 to 64 bytes long, got 70' }) });
    view();
    fireEvent.change(screen.getByLabelText('SKU'), { target: { value: 'A' } });
    fireEvent.click(screen.getByRole('button', { name: 'Look up' }));
    expect(await screen.findByText('sku: must be 1 to 64 bytes long, got 70')).toBeTruthy();
  });

  it('refuses a SKU with a space before asking the master', () => {
    const { calls } = stubFetch({});
    view();
    fireEvent.change(screen.getByLabelText('SKU'), { target: { value: 'has space' } });
    fireEvent.click(screen.getByRole('button', { name: 'Look up' }));
    expect(screen.getByText('A SKU has no spaces')).toBeTruthy();
    expect(calls).toHaveLength(0);
  });

  it('is read only for an account without operator on every tenant', async () => {
    signedInAs([{ tenant: 'acme', role: 'operator' }], 'alice');
    stubFetch({ '/api/v1/prices': () => json(200, { prices: [{ sku: 'MUG', price_minor: 300 }] }) });
    view();
    fireEvent.change(screen.getByLabelText('SKU'), { target: { value: 'MUG' } });
    fireEvent.click(screen.getByRole('button', { name: 'Look up' }));
    expect((await screen.findByTestId('central-price')).textContent).toBe('€3.00');
    expect(screen.getByTestId('prices-read-only').textContent).toMatch(/needs the operator role on every tenant.*operator on acme/);
    expect((screen.getByLabelText('New price (EUR)') as HTMLInputElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Set price…' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'List SKU in catalog…' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('says plainly when the master refuses the change (403)', async () => {
    stubFetch({
      '/api/v1/prices': () => json(200, { prices: [{ sku: 'MUG', price_minor: null }] }),
      '/api/v1/prices/MUG': () => json(403, { error: 'carol may not change prices or the catalog of what every tenant shares: that needs the operator role there' }),
    });
    view();
    fireEvent.change(screen.getByLabelText('SKU'), { target: { value: 'MUG' } });
    fireEvent.click(screen.getByRole('button', { name: 'Look up' }));
    await screen.findByTestId('central-price');
    fireEvent.change(screen.getByLabelText('New price (EUR)'), { target: { value: '3' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set price…' }));
    fireEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Set price' }));
    const alert = await screen.findByText(/^Not allowed: your account may not set prices/);
    expect(alert.textContent).toMatch(/needs the operator role there/);
    expect(screen.getByTestId('central-price').textContent).toBe('Not set');
  });
});

describe('Prices view and the master’s currency', () => {
  it('reads and enters prices in the master’s currency', async () => {
    const { calls } = stubFetch({
      '/api/v1/prices': () => json(200, { currency: 'JPY', prices: [{ sku: 'TEA', price_minor: 500 }] }),
      '/api/v1/prices/TEA': () => json(200, { sku: 'TEA', price_minor: 450, currency: 'JPY', position: 2 }),
      '/api/v1/prices/TEA/arrival': () =>
        json(200, { sku: 'TEA', price_minor: null, currency: 'JPY', position: null, set_ms: null, arrived: 0, stores: [] }),
    });
    view();
    fireEvent.change(screen.getByLabelText('SKU'), { target: { value: 'TEA' } });
    fireEvent.click(screen.getByRole('button', { name: 'Look up' }));
    expect((await screen.findByTestId('central-price')).textContent).toBe('¥500');
    fireEvent.change(screen.getByLabelText('New price (JPY)'), { target: { value: '450' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set price…' }));
    fireEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Set price' }));
    await screen.findByText('450 minor units');
    expect(calls.find((c) => c.init.method === 'PUT')!.init.body).toBe('{"price_minor":450,"currency":"JPY"}');
  });

  it('shows the master’s refusal of another currency under the price field', async () => {
    stubFetch({
      '/api/v1/prices': () => json(200, { prices: [{ sku: 'TEA', price_minor: 500 }] }),
      '/api/v1/prices/TEA': () =>
        json(400, { error: 'currency: this master’s central prices are in JPY minor units, not EUR: convert the price to JPY' }),
      '/api/v1/prices/TEA/arrival': () =>
        json(200, { sku: 'TEA', price_minor: null, currency: 'JPY', position: null, set_ms: null, arrived: 0, stores: [] }),
    });
    view();
    fireEvent.change(screen.getByLabelText('SKU'), { target: { value: 'TEA' } });
    fireEvent.click(screen.getByRole('button', { name: 'Look up' }));
    await screen.findByTestId('central-price');
    const input = screen.getByLabelText('New price (EUR)');
    fireEvent.change(input, { target: { value: '4.50' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set price…' }));
    fireEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Set price' }));
    expect(await screen.findByText(/convert the price to JPY/)).toBeTruthy();
    expect(input.getAttribute('aria-invalid')).toBe('true');
  });
});
