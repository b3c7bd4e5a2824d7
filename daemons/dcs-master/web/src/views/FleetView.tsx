// Fleet: the regions the master knows, with the failure detector's verdict; refreshes every 5 s.

import { useState } from 'react';
import { api } from '../api';
import { HEALTHS, type Health, type Region } from '../api/types';
import { Badge } from '../components/ui/badge';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { EmptyState, ErrorState, isForbidden, LoadingState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { ToggleGroup, ToggleGroupItem } from '../components/ui/toggle-group';
import { readsEveryTenant } from '../lib/access';
import { formatAbsolute, formatRelative } from '../lib/time';
import { useResource } from '../lib/useResource';
import { useGrants } from '../lib/useSession';

export const FLEET_REFRESH_MS = 5000;

const HEALTH_LOOK: Record<Health, { tone: 'ok' | 'warn' | 'bad'; icon: string; label: string }> = {
  alive: { tone: 'ok', icon: '●', label: 'Alive' },
  suspect: { tone: 'warn', icon: '▲', label: 'Suspect' },
  failed: { tone: 'bad', icon: '✕', label: 'Failed' },
};

type Filter = 'all' | Health;

export function HealthBadge({ health }: { health: Health }) {
  const look = HEALTH_LOOK[health] ?? { tone: 'muted' as const, icon: '?', label: String(health) };
  return (
    <Badge tone={look.tone} icon={look.icon}>
      {look.label}
    </Badge>
  );
}

/** A time as "12 s ago", with the absolute time on hover; "never" for null. */
export function When({ ms, now }: { ms: number | null; now: number }) {
  if (ms === null) return <span className="muted">never</span>;
  return (
    <time dateTime={new Date(ms).toISOString()} title={formatAbsolute(ms)}>
      {formatRelative(ms, now)}
    </time>
  );
}

export function FleetView({ refreshMs = FLEET_REFRESH_MS }: { refreshMs?: number }) {
  const [filter, setFilter] = useState<Filter>('all');
  // The count of summaries spans every tenant: asked only with a grant on `*`.
  const allTenants = readsEveryTenant(useGrants());
  const { state, reload, loadedAt } = useResource(
    async (signal) => {
      const count = allTenants
        ? api.summaries(0, 1, { signal }).then(
            (s) => s.count,
            (e: unknown) => {
              if (isForbidden(e)) return null;
              throw e;
            },
          )
        : Promise.resolve(null);
      const [regions, summaryCount] = await Promise.all([api.regions({ signal }), count]);
      return { regions: regions.regions, summaryCount };
    },
    [allTenants],
    { intervalMs: refreshMs },
  );

  if (state.status === 'loading') return <LoadingState what="the fleet" />;
  if (state.status === 'error') return <ErrorState what="the fleet (GET /api/v1/regions)" error={state.error} onRetry={reload} />;

  const { regions, summaryCount } = state.data;
  const now = loadedAt ?? Date.now();
  const counts: Record<Filter, number> = { all: regions.length, alive: 0, suspect: 0, failed: 0 };
  for (const r of regions) if (r.health in counts) counts[r.health]++;
  const shown = filter === 'all' ? regions : regions.filter((r) => r.health === filter);

  return (
    <div className="view">
      {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
      <div className="stats">
        <div className="stat">
          <span className="stat-label">Regions</span>
          <span className="stat-value">{regions.length}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Summaries held</span>
          <span className="stat-value" data-testid="summary-count">
            {summaryCount === null ? '—' : summaryCount.toLocaleString()}
          </span>
          {summaryCount === null && <span className="muted small">needs a grant on every tenant</span>}
        </div>
        {HEALTHS.map((h) => (
          <div className="stat" key={h}>
            <span className="stat-label">{HEALTH_LOOK[h].label}</span>
            <span className="stat-value">{counts[h]}</span>
          </div>
        ))}
      </div>

      <Card
        title="Regions"
        actions={
          <span className="muted small" aria-live="off">
            Refreshes every {Math.round(refreshMs / 1000)} s
            {loadedAt !== null && ` · updated ${new Date(loadedAt).toLocaleTimeString()}`}
            {' · '}
            <a href="#lag">Lag over time</a>
            {' · '}
            <a href="#stores">Stores</a>
          </span>
        }
      >
        {regions.length === 0 ? (
          <EmptyState title="No regions yet">
            A region appears here once its regional master has connected to this master over
            RegionalMasterSync. None has so far: check the regions' master address and their
            sync logs.
          </EmptyState>
        ) : (
          <>
            <div className="toolbar">
              <span className="toolbar-label" id="fleet-filter-label">
                Status
              </span>
              <ToggleGroup
                type="single"
                value={filter}
                onValueChange={(v) => setFilter((v || 'all') as Filter)}
                aria-labelledby="fleet-filter-label"
              >
                <ToggleGroupItem value="all">All ({counts.all})</ToggleGroupItem>
                {HEALTHS.map((h) => (
                  <ToggleGroupItem key={h} value={h}>
                    {HEALTH_LOOK[h].label} ({counts[h]})
                  </ToggleGroupItem>
                ))}
              </ToggleGroup>
            </div>
            {shown.length === 0 ? (
              <EmptyState
                title={`No ${filter} region`}
                action={
                  <Button variant="outline" onClick={() => setFilter('all')}>
                    Show all regions
                  </Button>
                }
              >
                None of the {regions.length} regions is {filter} right now.
              </EmptyState>
            ) : (
              <RegionsTable regions={shown} now={now} />
            )}
          </>
        )}
      </Card>
    </div>
  );
}

function RegionsTable({ regions, now }: { regions: Region[]; now: number }) {
  return (
    <Table caption="Regions and their sync state">
      <thead>
        <tr>
          <Th numeric>Region</Th>
          <Th>Status</Th>
          <Th>Last seen</Th>
          <Th>Last successful sync</Th>
          <Th numeric>Lag</Th>
          <Th>Protocol</Th>
        </tr>
      </thead>
      <tbody>
        {regions.map((r) => (
          <tr key={r.region}>
            <Td numeric>{r.region}</Td>
            <Td>
              <HealthBadge health={r.health} />
            </Td>
            <Td>
              <When ms={r.last_seen_ms} now={now} />
            </Td>
            <Td>
              <When ms={r.last_successful_sync_ms} now={now} />
            </Td>
            <Td numeric>{r.lag.toLocaleString()}</Td>
            <Td>{r.protocol ?? <span className="muted">unknown</span>}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
