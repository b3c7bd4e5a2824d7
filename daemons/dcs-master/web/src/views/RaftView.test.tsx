import { fireEvent, render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RaftReport } from '../api/types';
import { signedInAs } from '../test/session';
import { json, stubFetch } from '../test/fetch';
import { LAGGING_ENTRIES, memberState, RaftView } from './RaftView';

function report(now: number, over: Partial<RaftReport> = {}): RaftReport {
  return {
    region: 1,
    received_ms: now - 3_000,
    reported_ms: now - 3_000,
    term: 7,
    leader: 2,
    committed: 1_500,
    applied: 1_498,
    version: '0.1.0',
    members: [
      { id: 1, addr: '127.0.0.1:7001', voter: true, matched: 1_490, lag: 10 },
      { id: 2, addr: '127.0.0.1:7002', voter: true, matched: 1_500, lag: 0 },
      { id: 3, addr: '127.0.0.1:7003', voter: true, matched: null, lag: null },
      { id: 4, addr: '127.0.0.1:7004', voter: false, matched: 1_200, lag: 300 },
    ],
    sinks: [
      { sink: 'postgres', backlog: 0, problem: null },
      { sink: 'kafka', backlog: 1_234, problem: 'the broker does not answer' },
    ],
    ...over,
  };
}

beforeEach(() => {
  signedInAs();
});

describe('Raft view', () => {
  it('says what is loading, then why nothing is there yet', async () => {
    let answer: (r: Response) => void = () => {};
    stubFetch({ '/api/v1/regions/raft': () => new Promise<Response>((r) => (answer = r)) });
    render(<RaftView />);
    expect(screen.getByRole('status').textContent).toMatch(/Loading the regions' Raft health/);
    answer(await json(200, { regions: [] }));
    expect(await screen.findByText('No Raft report yet')).toBeTruthy();
    expect(screen.getByText(/reports its cluster here every few seconds/)).toBeTruthy();
  });

  it('shows the leader, term, indexes and each member with its lag and state', async () => {
    stubFetch({ '/api/v1/regions/raft': () => json(200, { regions: [report(Date.now())] }) });
    render(<RaftView />);
    expect((await screen.findByTestId('raft-leader-1')).textContent).toBe('n2');
    expect(screen.getByText('1,498')).toBeTruthy();
    const table = screen.getByRole('table', { name: /Members of region 1/ });
    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      'Node',
      'State',
      'Address',
      'Matched index',
      'Behind commit',
    ]);
    const rows = within(table).getAllByRole('row').slice(1);
    const cells = (r: HTMLElement) => within(r).getAllByRole('cell').map((c) => c.textContent);
    expect(cells(rows[0]!)).toEqual(['n1', 'Follower', '127.0.0.1:7001', '1,490', '10']);
    expect(cells(rows[1]!)).toEqual(['n2', 'Leader', '127.0.0.1:7002', '1,500', '0']);
    expect(cells(rows[2]!)).toEqual(['n3', 'Not heard from', '127.0.0.1:7003', '—', 'unknown']);
    expect(cells(rows[3]!)).toEqual(['n4', 'Lagging', '127.0.0.1:7004', '1,200', '300']);
    expect(screen.queryByText('No recent report')).toBeNull();
    const sinks = screen.getByRole('table', { name: /Forwarding backlog of region 1/ });
    const sinkRows = within(sinks).getAllByRole('row').slice(1);
    expect(cells(sinkRows[0]!)).toEqual(['PostgreSQL', 'Forwarding', '0', 'none']);
    expect(cells(sinkRows[1]!)).toEqual(['Kafka', 'Failing', '1,234', 'the broker does not answer']);
  });

  it('says when a region forwards to no sink', async () => {
    stubFetch({ '/api/v1/regions/raft': () => json(200, { regions: [report(Date.now(), { sinks: [] })] }) });
    render(<RaftView />);
    expect(await screen.findByText(/forwards to no sink/)).toBeTruthy();
  });

  it('marks a region whose leader stopped reporting', async () => {
    const now = Date.now();
    stubFetch({ '/api/v1/regions/raft': () => json(200, { regions: [report(now, { received_ms: now - 120_000 })] }) });
    render(<RaftView />);
    expect(await screen.findByText('No recent report')).toBeTruthy();
    expect(screen.getByText(/has not reported for over 30 s/)).toBeTruthy();
    expect(screen.getByText('2 min ago')).toBeTruthy();
  });

  it('shows what failed with Retry', async () => {
    let fail = true;
    stubFetch({
      '/api/v1/regions/raft': () => (fail ? json(403, { error: 'needs a grant on *' }) : json(200, { regions: [report(Date.now())] })),
    });
    render(<RaftView />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Could not load the regions' Raft health/);
    fail = false;
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('raft-leader-1')).toBeTruthy();
  });

  it('calls a member lagging from the threshold on', () => {
    const m = { id: 1, addr: '', voter: true, matched: 0, lag: LAGGING_ENTRIES };
    expect(memberState(m, 2).label).toBe('Lagging');
    expect(memberState({ ...m, lag: LAGGING_ENTRIES - 1 }, 2).label).toBe('Follower');
    expect(memberState(m, 1).label).toBe('Leader');
  });
});
