// A central price change arriving store by store (GET /api/v1/prices/{sku}/arrival): which
// stores have merged it, and how long after the change each region's report first showed it.
// Refreshes every 2 s; the regions report every few seconds, so a time is "by then".

import { api } from '../api';
import type { PriceArrival as Arrival } from '../api/types';
import { Badge } from '../components/ui/badge';
import { Card } from '../components/ui/card';
import { EmptyState, ErrorState, isForbidden, LoadingState, NoAccessState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { formatMinor } from '../lib/money';
import { useResource } from '../lib/useResource';

export const ARRIVAL_REFRESH_MS = 2000;

/** "1.2 s", "45 s", "3 min": how long a change took to reach a store. */
export function formatAfter(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Loads the arrival; null when the master keeps no change of this SKU. */
async function load(sku: string, signal: AbortSignal): Promise<Arrival | null> {
  const a = await api.priceArrival(sku, { signal });
  return a.price_minor === null ? null : a;
}

export function PriceArrival({
  sku,
  currency,
  version,
  refreshMs = ARRIVAL_REFRESH_MS,
}: {
  sku: string;
  currency: string;
  /** Bumped after a change is made here: starts over from loading. */
  version: number;
  refreshMs?: number;
}) {
  const { state, reload, loadedAt } = useResource((signal) => load(sku, signal), [sku, version], {
    intervalMs: refreshMs,
  });
  const title = 'Arrival at the stores';
  if (state.status === 'loading') return <LoadingState what={`where the price of ${sku} has arrived`} />;
  if (state.status === 'error') {
    if (isForbidden(state.error)) {
      return (
        <Card title={title}>
          <NoAccessState
            what="the arrival of price changes"
            why="It lists every region's stores, so it needs a grant on every tenant (*)."
            error={state.error}
          />
        </Card>
      );
    }
    return <ErrorState what={`the arrival of ${sku} (GET /api/v1/prices/${sku}/arrival)`} error={state.error} onRetry={reload} />;
  }
  const a = state.data as (Arrival & { price_minor: number }) | null;
  return (
    <Card
      title={title}
      actions={
        <span className="muted small" aria-live="off">
          Refreshes every {Math.round(refreshMs / 1000)} s
        </span>
      }
    >
      {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
      {a === null ? (
        <EmptyState title="No change to follow">
          This master has made no central change of {sku}'s price (or it is older than the
          last 256 changes). Set one above to see it reach the stores.
        </EmptyState>
      ) : (
        <>
          <p role="status" data-testid="arrival-summary">
            {formatMinor(a.price_minor, currency)} has reached <strong>{a.arrived}</strong> of{' '}
            {a.stores.length} {a.stores.length === 1 ? 'store' : 'stores'}.
          </p>
          {a.stores.length === 0 ? (
            <EmptyState title="No store reported yet">
              The regions' leaders report here every few seconds how far each of their stores
              has merged the master's changes. None has yet: check the Fleet and Raft views.
            </EmptyState>
          ) : (
            <Table caption={`Where the change of ${sku} to ${formatMinor(a.price_minor, currency)} has arrived`}>
              <thead>
                <tr>
                  <Th>Region</Th>
                  <Th>Store</Th>
                  <Th>State</Th>
                  <Th numeric>After</Th>
                </tr>
              </thead>
              <tbody>
                {a.stores.map((s) => (
                  <tr key={`${s.region}/${s.store}`} data-testid={`arrival-${s.region}-${s.store}`}>
                    <Td>Region {s.region}</Td>
                    <Td>
                      {s.branch ?? `Store ${s.store}`}
                      {s.branch !== null && <span className="muted small"> · store {s.store}</span>}
                    </Td>
                    <Td>
                      {s.arrived_ms === null ? (
                        <Badge tone="warn" icon="…">
                          Waiting
                        </Badge>
                      ) : (
                        <Badge tone="ok" icon="✓">
                          Arrived
                        </Badge>
                      )}
                    </Td>
                    <Td numeric>{s.after_ms === null ? '—' : formatAfter(s.after_ms)}</Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </>
      )}
    </Card>
  );
}
