// Raft: each region's cluster as its leader last reported it (GET /api/v1/regions/raft):
// leader, term, committed and applied index, each member's lag, and each sink's forwarding
// backlog; refreshes every 5 s.

import { api } from '../api';
import type { RaftMember, RaftReport } from '../api/types';
import { Badge } from '../components/ui/badge';
import { Card } from '../components/ui/card';
import { EmptyState, ErrorState, LoadingState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { useResource } from '../lib/useResource';
import { When } from './FleetView';

export const RAFT_REFRESH_MS = 5000;

/** A report older than this is shown as stale: the leader reports every 5 s by default. */
export const RAFT_STALE_MS = 30_000;

/** Entries behind the committed index from which a member is shown as lagging. */
export const LAGGING_ENTRIES = 100;

/** How a member looks: the leader, caught up, lagging, or not heard from. */
export function memberState(m: RaftMember, leader: number): { tone: 'ok' | 'warn' | 'bad' | 'muted'; label: string } {
  if (m.id === leader) return { tone: 'ok', label: 'Leader' };
  if (m.matched === null) return { tone: 'bad', label: 'Not heard from' };
  if ((m.lag ?? 0) >= LAGGING_ENTRIES) return { tone: 'warn', label: 'Lagging' };
  return { tone: 'ok', label: m.voter ? 'Follower' : 'Learner' };
}

export function RaftView({ refreshMs = RAFT_REFRESH_MS }: { refreshMs?: number }) {
  const { state, reload, loadedAt } = useResource((signal) => api.raft({ signal }).then((r) => r.regions), [], {
    intervalMs: refreshMs,
  });
  if (state.status === 'loading') return <LoadingState what="the regions' Raft health" />;
  if (state.status === 'error') {
    return <ErrorState what="the regions' Raft health (GET /api/v1/regions/raft)" error={state.error} onRetry={reload} />;
  }
  const now = loadedAt ?? Date.now();
  return (
    <div className="view">
      {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
      {state.data.length === 0 ? (
        <Card title="Raft health">
          <EmptyState title="No Raft report yet">
            A region's leader reports its cluster here every few seconds once it is connected to
            this master. None has so far: check the Fleet view and the regions' master address.
          </EmptyState>
        </Card>
      ) : (
        state.data.map((r) => <RegionRaft key={r.region} report={r} now={now} refreshMs={refreshMs} />)
      )}
    </div>
  );
}

function RegionRaft({ report: r, now, refreshMs }: { report: RaftReport; now: number; refreshMs: number }) {
  const stale = now - r.received_ms > RAFT_STALE_MS;
  return (
    <Card
      title={`Region ${r.region}`}
      actions={
        <span className="muted small" aria-live="off">
          Reported <When ms={r.received_ms} now={now} /> · refreshes every {Math.round(refreshMs / 1000)} s
        </span>
      }
    >
      {stale && (
        <p className="muted" role="note">
          <Badge tone="warn" icon="▲">
            No recent report
          </Badge>{' '}
          The leader has not reported for over {RAFT_STALE_MS / 1000} s: it may have lost its
          link to the master, or the region has no leader now.
        </p>
      )}
      <div className="stats">
        <div className="stat">
          <span className="stat-label">Leader</span>
          <span className="stat-value" data-testid={`raft-leader-${r.region}`}>
            n{r.leader}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">Term</span>
          <span className="stat-value">{r.term}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Committed</span>
          <span className="stat-value">{r.committed.toLocaleString()}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Applied (leader)</span>
          <span className="stat-value">{r.applied.toLocaleString()}</span>
        </div>
      </div>
      <Table caption={`Members of region ${r.region} as its leader (version ${r.version}) sees them`}>
        <thead>
          <tr>
            <Th>Node</Th>
            <Th>State</Th>
            <Th>Address</Th>
            <Th numeric>Matched index</Th>
            <Th numeric>Behind commit</Th>
          </tr>
        </thead>
        <tbody>
          {r.members.map((m) => {
            const look = memberState(m, r.leader);
            return (
              <tr key={m.id}>
                <Td>n{m.id}</Td>
                <Td>
                  <Badge tone={look.tone}>{look.label}</Badge>
                </Td>
                <Td>
                  <code>{m.addr}</code>
                </Td>
                <Td numeric>{m.matched === null ? '—' : m.matched.toLocaleString()}</Td>
                <Td numeric>{m.lag === null ? 'unknown' : m.lag.toLocaleString()}</Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
      {r.sinks.length === 0 ? (
        <p className="muted small">This region forwards to no sink (no PostgreSQL or Kafka configured).</p>
      ) : (
        <Table caption={`Forwarding backlog of region ${r.region}: accepted events not yet in each sink`}>
          <thead>
            <tr>
              <Th>Sink</Th>
              <Th>State</Th>
              <Th numeric>Backlog</Th>
              <Th>Last error</Th>
            </tr>
          </thead>
          <tbody>
            {r.sinks.map((k) => (
              <tr key={k.sink}>
                <Td>{SINK_NAMES[k.sink] ?? k.sink}</Td>
                <Td>
                  {k.problem === null ? <Badge tone="ok">Forwarding</Badge> : <Badge tone="bad">Failing</Badge>}
                </Td>
                <Td numeric>{k.backlog.toLocaleString()}</Td>
                <Td>{k.problem === null ? <span className="muted">none</span> : k.problem}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}

const SINK_NAMES: Record<string, string> = { postgres: 'PostgreSQL', kafka: 'Kafka' };
