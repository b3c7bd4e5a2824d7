import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { signedInAs } from '../test/session';
import type { Region } from '../api/types';
import { App } from '../App';
import { json, stubFetch } from '../test/fetch';
import { FleetView } from './FleetView';

const summaries = () => json(200, { count: 1234, page: [{ rowid: 1, event_id: 'e1', region: 1 }] });

function regions(now: number): Region[] {
  return [
    { region: 1, health: 'alive', last_seen_ms: now - 12_000, last_successful_sync_ms: now - 15_000, lag: 0, protocol: 'sync/1' },
    { region: 2, health: 'suspect', last_seen_ms: now - 5 * 60_000, last_successful_sync_ms: null, lag: 42, protocol: 'sync/1' },
    { region: 3, health: 'failed', last_seen_ms: null, last_successful_sync_ms: null, lag: 0, protocol: null },
  ];
}

beforeEach(() => {
  signedInAs();
});

describe('Fleet view', () => {
  it('shows a loading state while the master has not answered', async () => {
    stubFetch({ '/api/v1/regions': () => new Promise<Response>(() => {}), '/api/v1/summaries': summaries });
    render(<FleetView />);
    expect(screen.getByRole('status').textContent).toMatch(/Loading the fleet/);
  });

  it('shows an empty state that says why there is no region', async () => {
    stubFetch({ '/api/v1/regions': () => json(200, { regions: [] }), '/api/v1/summaries': () => json(200, { count: 0, page: [] }) });
    render(<FleetView />);
    expect(await screen.findByText('No regions yet')).toBeTruthy();
    expect(screen.getByText(/appears here once its regional master has connected/)).toBeTruthy();
    expect(screen.getByTestId('summary-count').textContent).toBe('0');
    expect(screen.queryByRole('table')).toBeNull();
  });

  it('shows what failed with Retry, and Retry loads again', async () => {
    let fail = true;
    const { fn } = stubFetch({
      '/api/v1/regions': () => (fail ? json(503, { error: 'the master is busy or stopping: retry' }) : json(200, { regions: regions(Date.now()) })),
      '/api/v1/summaries': summaries,
    });
    render(<FleetView />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Could not load the fleet/);
    expect(alert.textContent).toMatch(/The master could not answer \(503\): the master is busy or stopping: retry/);
    fail = false;
    const before = fn.mock.calls.length;
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('table')).toBeTruthy();
    expect(fn.mock.calls.length).toBeGreaterThan(before);
  });

  it('fills the table with status labels, relative times, lag and protocol, and filters by status', async () => {
    const now = Date.now();
    stubFetch({ '/api/v1/regions': () => json(200, { regions: regions(now) }), '/api/v1/summaries': summaries });
    render(<FleetView />);
    const table = await screen.findByRole('table');
    const headers = within(table).getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['Region', 'Status', 'Last seen', 'Last successful sync', 'Lag', 'Protocol']);
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(3);
    const cells = (r: HTMLElement) => within(r).getAllByRole('cell').map((c) => c.textContent);
    expect(cells(rows[0]!)).toEqual(['1', '●Alive', '12 s ago', '15 s ago', '0', 'sync/1']);
    expect(cells(rows[1]!)).toEqual(['2', '▲Suspect', '5 min ago', 'never', '42', 'sync/1']);
    expect(cells(rows[2]!)).toEqual(['3', '✕Failed', 'never', 'never', '0', 'unknown']);
    const seen = within(rows[0]!).getByText('12 s ago');
    expect(seen.tagName).toBe('TIME');
    expect(seen.getAttribute('title')).toBeTruthy();
    expect(seen.getAttribute('dateTime')).toBe(new Date(now - 12_000).toISOString());
    expect(screen.getByTestId('summary-count').textContent).toBe('1,234');

    fireEvent.click(screen.getByRole('radio', { name: 'Failed (1)' }));
    const filtered = within(screen.getByRole('table')).getAllByRole('row').slice(1);
    expect(filtered).toHaveLength(1);
    expect(within(filtered[0]!).getAllByRole('cell')[0]!.textContent).toBe('3');
  });

  it('says so when no region has the chosen status', async () => {
    const now = Date.now();
    stubFetch({
      '/api/v1/regions': () => json(200, { regions: regions(now).filter((r) => r.health === 'alive') }),
      '/api/v1/summaries': summaries,
    });
    render(<FleetView />);
    await screen.findByRole('table');
    fireEvent.click(screen.getByRole('radio', { name: 'Failed (0)' }));
    expect(screen.getByText('No failed region')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Show all regions' }));
    expect(screen.getByRole('table')).toBeTruthy();
  });

  it('refreshes on its interval and keeps the data when a refresh fails', async () => {
    let n = 0;
    const { calls } = stubFetch({
      '/api/v1/regions': () => (++n === 1 ? json(200, { regions: regions(Date.now()) }) : json(503, { error: 'the master store: locked' })),
      '/api/v1/summaries': summaries,
    });
    render(<FleetView refreshMs={30} />);
    await screen.findByRole('table');
    await waitFor(() => expect(screen.getByRole('alert').textContent).toMatch(/Refresh failed: .*locked/));
    expect(screen.getByRole('table')).toBeTruthy();
    expect(calls.filter((c) => c.url === '/api/v1/regions').length).toBeGreaterThanOrEqual(2);
  });
});

describe('Fleet view for a viewer of one tenant', () => {
  it('lists the regions without asking for the summaries, which span every tenant', async () => {
    signedInAs([{ tenant: 'acme', role: 'viewer' }], 'alice');
    const { calls } = stubFetch({ '/api/v1/regions': () => json(200, { regions: regions(Date.now()) }) });
    render(<FleetView />);
    await screen.findByRole('table');
    expect(screen.getByTestId('summary-count').textContent).toBe('—');
    expect(screen.getByText('needs a grant on every tenant')).toBeTruthy();
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/regions']);
  });
});

describe('a 401 anywhere', () => {
  it('returns to the sign-in screen saying the session ended', async () => {
    stubFetch({
      '/api/v1/regions': () => json(401, { error: 'sign in: the session expired or was signed out' }),
      '/api/v1/summaries': () => json(401, { error: 'sign in: the session expired or was signed out' }),
    });
    render(<App />);
    expect(await screen.findByText('Your session ended: sign in again')).toBeTruthy();
    expect(screen.getByLabelText('Operator name')).toBeTruthy();
    expect(screen.getByLabelText('Password')).toBeTruthy();
    expect(sessionStorage.getItem('dcs-master.session')).toBeNull();
  });

  it('and Sign out ends the session on the master, then here', async () => {
    const { calls } = stubFetch({
      '/api/v1/regions': () => json(200, { regions: [] }),
      '/api/v1/summaries': summaries,
      '/api/v1/logout': () => json(200, { signed_out: true }),
    });
    render(<App />);
    await screen.findByText('No regions yet');
    expect(screen.getByTestId('whoami').textContent).toBe('carol');
    expect(screen.getByText(/operator on every tenant/)).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    });
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeTruthy();
    expect(calls.filter((c) => c.url === '/api/v1/logout')).toHaveLength(1);
    expect(screen.queryByText('Your session ended: sign in again')).toBeNull();
    expect(sessionStorage.getItem('dcs-master.session')).toBeNull();
  });
});
