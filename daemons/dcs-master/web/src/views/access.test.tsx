import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, stubFetch } from '../test/fetch';
import { signedInAs } from '../test/session';
import { RejectedView } from './RejectedView';
import { StockView } from './StockView';

const forbidden = () => json(403, { error: 'alice may not read what every tenant shares: that needs the viewer role there' });

describe('what an account may see', () => {
  it('Rejected events: a viewer of one tenant gets the no-access state, not an error, and no call', () => {
    signedInAs([{ tenant: 'acme', role: 'viewer' }], 'alice');
    const { calls } = stubFetch({ '/api/v1/rejected': forbidden });
    render(<RejectedView />);
    const state = screen.getByTestId('no-access');
    expect(state.textContent).toMatch(/You don't have access to rejected events/);
    expect(state.textContent).toMatch(/viewer on acme/);
    expect(screen.queryByRole('alert')).toBeNull();
    expect(calls).toHaveLength(0);
  });

  it('Rejected events: a 403 from the master is shown as no access too', async () => {
    signedInAs([{ tenant: '*', role: 'viewer' }]);
    stubFetch({ '/api/v1/rejected': forbidden });
    render(<RejectedView />);
    const state = await screen.findByTestId('no-access');
    expect(state.textContent).toMatch(/The master said: alice may not read/);
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
  });

  it('Stock: the only tenant is fixed and named in the call', async () => {
    signedInAs([{ tenant: 'acme', role: 'viewer' }], 'alice');
    const { calls } = stubFetch({ '/api/v1/stock': () => json(200, { stock: [{ tenant: 'acme', branch: 's1', sku: 'MUG', on_hand: 3 }] }) });
    render(<StockView />);
    await screen.findByRole('table');
    expect((screen.getByTestId('tenant-fixed') as HTMLInputElement).value).toBe('acme');
    expect(calls[0]!.url).toBe('/api/v1/stock?tenant=acme');
  });

  it('Stock: several tenants are offered to choose from, the first one asked for', async () => {
    signedInAs([{ tenant: 'globex', role: 'viewer' }, { tenant: 'acme', role: 'operator' }], 'dana');
    const { calls } = stubFetch({ '/api/v1/stock': () => json(200, { stock: [] }) });
    render(<StockView />);
    await screen.findByText('No stock levels');
    expect(calls[0]!.url).toBe('/api/v1/stock?tenant=acme');
    const picker = screen.getByLabelText('Tenant');
    expect(picker.getAttribute('role')).toBe('combobox');
    expect(picker.textContent).toMatch(/acme/);
  });

  it('Stock: with a grant on every tenant the tenant is typed, blank for all', async () => {
    signedInAs();
    const { calls } = stubFetch({ '/api/v1/stock': () => json(200, { stock: [] }) });
    render(<StockView />);
    await screen.findByText('No stock levels');
    expect(calls[0]!.url).toBe('/api/v1/stock');
    fireEvent.change(screen.getByLabelText('Tenant'), { target: { value: 'globex' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    await waitFor(() => expect(calls.at(-1)!.url).toBe('/api/v1/stock?tenant=globex'));
  });
});
