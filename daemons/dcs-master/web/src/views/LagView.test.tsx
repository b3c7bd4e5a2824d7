import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RegionSample } from '../api/types';
import { App } from '../App';
import { HOUR_MS } from '../lib/time';
import { json, stubFetch } from '../test/fetch';
import { signedInAs } from '../test/session';
import { LagView } from './LagView';

const HISTORY = '/api/v1/regions/history';

function samples(now: number): RegionSample[] {
  const rows: RegionSample[] = [];
  for (let i = 5; i >= 1; i--) {
    const at = now - i * 60_000;
    rows.push({ region: 1, at_ms: at, lag: i === 3 ? 40 : 0, health: 'alive' });
    rows.push({ region: 2, at_ms: at, lag: 100 + (5 - i) * 5, health: i === 1 ? 'suspect' : 'alive' });
  }
  return rows;
}

const sinceOf = (url: string) => Number(new URL(url, 'http://x').searchParams.get('since_ms'));

beforeEach(() => {
  signedInAs();
});

describe('Lag view', () => {
  it('shows a loading state while the master has not answered', () => {
    stubFetch({ [HISTORY]: () => new Promise<Response>(() => {}) });
    render(<LagView />);
    expect(screen.getByRole('status').textContent).toMatch(/Loading the lag history/);
  });

  it('shows an empty state that says how often the master samples', async () => {
    stubFetch({ [HISTORY]: () => json(200, { samples: [] }) });
    render(<LagView />);
    expect(await screen.findByText('No samples yet')).toBeTruthy();
    expect(screen.getByText(/registry\.sample_every_s/).closest('.state')!.textContent).toMatch(/60 s unless configured/);
    expect(screen.queryByRole('table')).toBeNull();
    expect(screen.queryByTestId('lag-chart')).toBeNull();
  });

  it('shows what failed with Retry, and Retry loads again', async () => {
    let fail = true;
    const { fn } = stubFetch({
      [HISTORY]: () => (fail ? json(503, { error: 'the master store: locked' }) : json(200, { samples: samples(Date.now()) })),
    });
    render(<LagView />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Could not load the lag history \(GET \/api\/v1\/regions\/history\)/);
    expect(alert.textContent).toMatch(/The master could not answer \(503\): the master store: locked/);
    fail = false;
    const before = fn.mock.calls.length;
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('table')).toBeTruthy();
    expect(fn.mock.calls.length).toBeGreaterThan(before);
  });

  it('asks for the window, draws one line per region and lists the newest and highest lag', async () => {
    const now = Date.now();
    const { calls } = stubFetch({ [HISTORY]: () => json(200, { samples: samples(now) }) });
    render(<LagView />);
    const table = await screen.findByRole('table');
    const since = sinceOf(calls[0]!.url);
    expect(since).toBeGreaterThan(now - 24 * HOUR_MS - 5_000);
    expect(since).toBeLessThanOrEqual(Date.now() - 24 * HOUR_MS);

    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      'Region',
      'Status',
      'Lag now',
      'Highest',
      'Highest at',
      'Newest sample',
    ]);
    const rows = within(table).getAllByRole('row').slice(1);
    const cells = (r: HTMLElement) => within(r).getAllByRole('cell').map((c) => c.textContent);
    expect(cells(rows[0]!).slice(0, 4)).toEqual(['1', '●Alive', '0', '40']);
    expect(cells(rows[1]!).slice(0, 4)).toEqual(['2', '▲Suspect', '120', '120']);
    expect(cells(rows[1]!)[5]).toMatch(/^(59|60|61) s ago$|^1 min ago$/);

    const chart = await screen.findByTestId('lag-chart');
    expect(chart.getAttribute('role')).toBe('figure');
    expect(screen.getByRole('figure', { name: /Line chart of the lag of 2 regions/ })).toBe(chart);
    expect(chart.getAttribute('aria-label')).toBe(
      'Line chart of the lag of 2 regions over the last 24 hours. Latest lag: region 1 0 (peak 40), region 2 120 (peak 120). The same figures are in the table below.',
    );
    expect(screen.getByText(/sampled every 60 s/)).toBeTruthy();
  });

  it('takes a region off the chart by its toggle, keeping it in the table', async () => {
    const now = Date.now();
    const rows = [...samples(now), ...samples(now).filter((r) => r.region === 1).map((r) => ({ ...r, region: 3, lag: 0 }))];
    stubFetch({ [HISTORY]: () => json(200, { samples: rows }) });
    render(<LagView />);
    const chart = await screen.findByTestId('lag-chart');
    const toggle = screen.getByRole('button', { name: 'Region 2' });
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(toggle);
    expect(toggle.getAttribute('aria-pressed')).toBe('false');
    expect(chart.getAttribute('aria-label')).toMatch(/lag of 2 regions .*region 1 0 \(peak 40\), region 3 0 \(peak 0\)\./);
    const table = screen.getByRole('table');
    expect(within(table).getAllByRole('row')).toHaveLength(4);
    expect(within(within(table).getAllByRole('row')[3]!).getByText('never above 0')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Region 1' }));
    fireEvent.click(screen.getByRole('button', { name: 'Region 3' }));
    expect(chart.getAttribute('aria-label')).toBe('Line chart of the lag over the last 24 hours, every region hidden');
  });

  it('reads a window longer than one answer in pages, and says when it stopped short', async () => {
    const page = (since: number): RegionSample[] => {
      const rows: RegionSample[] = [];
      for (let k = 0; rows.length < 10_000; k++) {
        rows.push({ region: 1, at_ms: since + k * 60_000, lag: 1, health: 'alive' }, { region: 2, at_ms: since + k * 60_000, lag: 2, health: 'alive' });
      }
      return rows;
    };
    const { calls } = stubFetch({ [HISTORY]: (url) => json(200, { samples: page(sinceOf(url)) }) });
    render(<LagView initialWindow="7d" />);
    await screen.findByRole('table');
    expect(calls).toHaveLength(5);
    expect(sinceOf(calls[1]!.url)).toBe(sinceOf(calls[0]!.url) + 4999 * 60_000);
    expect(screen.getByText(/more samples than the dashboard reads at once/)).toBeTruthy();
    expect(screen.getByText(/each point the highest of \d+ samples/)).toBeTruthy();
  });

  it('asks again for a shorter window chosen by the toggle', async () => {
    const { calls } = stubFetch({ [HISTORY]: () => json(200, { samples: samples(Date.now()) }) });
    render(<LagView />);
    await screen.findByRole('table');
    fireEvent.click(screen.getByRole('radio', { name: 'Last 1 h' }));
    await waitFor(() => expect(calls.length).toBe(2));
    expect(sinceOf(calls[1]!.url)).toBeGreaterThan(Date.now() - HOUR_MS - 5_000);
    expect(await screen.findByText('Lag over the last hour')).toBeTruthy();
  });

  it('refreshes on its interval and keeps the chart when a refresh fails', async () => {
    let n = 0;
    const { calls } = stubFetch({
      [HISTORY]: () => (++n === 1 ? json(200, { samples: samples(Date.now()) }) : json(503, { error: 'the master store: locked' })),
    });
    render(<LagView refreshMs={30} />);
    await screen.findByRole('table');
    await waitFor(() => expect(screen.getByRole('alert').textContent).toMatch(/Refresh failed: .*locked/));
    expect(screen.getByRole('table')).toBeTruthy();
    expect(calls.length).toBeGreaterThanOrEqual(2);
  });

  it('is a tab of the dashboard, and the fleet links to it', async () => {
    stubFetch({
      '/api/v1/regions': () => json(200, { regions: [] }),
      '/api/v1/summaries': () => json(200, { count: 0, page: [] }),
      [HISTORY]: () => json(200, { samples: samples(Date.now()) }),
    });
    render(<App />);
    await screen.findByText('No regions yet');
    expect(screen.getByRole('link', { name: 'Lag over time' }).getAttribute('href')).toBe('#lag');
    fireEvent.mouseDown(screen.getByRole('tab', { name: 'Lag over time' }));
    expect(await screen.findByRole('heading', { name: 'Lag over time', level: 1 })).toBeTruthy();
    expect(await screen.findByRole('table')).toBeTruthy();
    expect(location.hash).toBe('#lag');
    history.replaceState(null, '', location.pathname);
  });
});

describe('Forwarding backlog', () => {
  it('draws each region’s backlog per sink and lists the newest and highest', async () => {
    const now = Date.now();
    const sinks = [
      { region: 1, sink: 'postgres', at_ms: now - 120_000, backlog: 300 },
      { region: 1, sink: 'kafka', at_ms: now - 120_000, backlog: 20 },
      { region: 1, sink: 'postgres', at_ms: now - 60_000, backlog: 4 },
      { region: 1, sink: 'kafka', at_ms: now - 60_000, backlog: 25 },
    ];
    stubFetch({ [HISTORY]: () => json(200, { samples: samples(now), sinks }) });
    render(<LagView />);
    expect(await screen.findByTestId('backlog-chart')).toBeTruthy();
    const pg = screen.getByTestId('backlog-1-postgres');
    expect([...pg.querySelectorAll('td')].slice(0, 4).map((c) => c.textContent)).toEqual(['1', 'PostgreSQL', '4', '300']);
    const kafka = screen.getByTestId('backlog-1-kafka');
    expect([...kafka.querySelectorAll('td')].slice(0, 4).map((c) => c.textContent)).toEqual(['1', 'Kafka', '25', '25']);
    expect(screen.getByTestId('backlog-chart').getAttribute('aria-label')).toMatch(/Region 1 → PostgreSQL 4 now, highest 300/);
  });

  it('says why there is none when no region forwards to a sink', async () => {
    stubFetch({ [HISTORY]: () => json(200, { samples: samples(Date.now()) }) });
    render(<LagView />);
    expect(await screen.findByText('No forwarding backlog reported')).toBeTruthy();
    expect(screen.queryByTestId('backlog-chart')).toBeNull();
  });
});
