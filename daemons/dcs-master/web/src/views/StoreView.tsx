// One store (#store/<tenant>/<branch>): what the master knows of it (GET /api/v1/stores), its
// sales per hour (GET /api/v1/sales) and stock per SKU (GET /api/v1/stock), both of its tenant
// and picked out here, and the refusals of its region (GET /api/v1/rejected, which carries no
// branch); refreshes every 30 s.

import { useEffect, useRef, useState } from 'react';
import { api } from '../api';
import type { RejectedEvent, SalesRow, StockRow } from '../api/types';
import { OnHand } from '../components/OnHand';
import { RejectedTable } from '../components/RejectedTable';
import { Card } from '../components/ui/card';
import { EmptyState, ErrorState, isForbidden, LoadingState, NoAccessState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { ToggleGroup, ToggleGroupItem } from '../components/ui/toggle-group';
import { describeGrants, readableTenants, readsEveryTenant } from '../lib/access';
import { formatMinor } from '../lib/money';
import { regionRejections, salesPerHour, storeSales, storeStock, summarizeStore, type StoreRef, type StoreSummary } from '../lib/store';
import { formatAbsolute, formatHour, formatRelative, hourOf } from '../lib/time';
import { useResource } from '../lib/useResource';
import { useGrants } from '../lib/useSession';

export const STORE_REFRESH_MS = 30_000;

const WINDOWS = [
  { value: '24h', label: '24 h', hours: 24, text: 'the last 24 hours' },
  { value: '7d', label: '7 d', hours: 24 * 7, text: 'the last 7 days' },
] as const;
type WindowId = (typeof WINDOWS)[number]['value'];

const NOT_FORWARDED =
  'The master keeps only the summaries it refused from the regions (region, position, event id, reason), ' +
  'not which store an event came from, and the regions do not forward the events they refuse from their stores yet. ' +
  "Per-store errors need the regions to forward their refusals; until then this lists the refusals of the store's region, which may be any of its stores'.";

export function StoreView({ store, refreshMs = STORE_REFRESH_MS }: { store: StoreRef; refreshMs?: number }) {
  const grants = useGrants();
  const tenants = readableTenants(grants);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [store.tenant, store.branch]);

  const title = (
    <div className="row">
      <a href="#stores">← All stores</a>
      <h2 className="view-subtitle" tabIndex={-1} ref={heading} data-testid="store-title">
        Store {store.branch} <span className="muted">of {store.tenant}</span>
      </h2>
    </div>
  );
  if (tenants !== null && !tenants.includes(store.tenant)) {
    return (
      <div className="view">
        {title}
        <NoAccessState
          what={`the stores of ${store.tenant}`}
          why={`Reading a store needs a grant on its tenant (${store.tenant}) or on every tenant. Your account has: ${describeGrants(grants)}.`}
        />
      </div>
    );
  }
  return (
    <div className="view">
      {title}
      <StoreDetail store={store} refreshMs={refreshMs} rejections={readsEveryTenant(grants)} />
    </div>
  );
}

interface Loaded {
  summary: StoreSummary | null;
  sales: SalesRow[];
  stock: StockRow[];
  fromHour: number;
  toHour: number;
}

function StoreDetail({ store, refreshMs, rejections }: { store: StoreRef; refreshMs: number; rejections: boolean }) {
  const [win, setWin] = useState<WindowId>('24h');
  const w = WINDOWS.find((x) => x.value === win)!;
  const { state, reload, loadedAt } = useResource<Loaded>(
    async (signal) => {
      const toHour = hourOf(Date.now()) + 1; // the current hour included
      const fromHour = toHour - w.hours;
      const tenant = store.tenant;
      const [stores, sales, stock] = await Promise.all([
        api.stores(tenant, { signal }),
        api.sales({ tenant, from_hour: fromHour, to_hour: toHour }, { signal }),
        api.stock(tenant, { signal }),
      ]);
      return {
        summary: summarizeStore(stores.stores, store),
        sales: storeSales(sales.sales, store),
        stock: storeStock(stock.stock, store),
        fromHour,
        toHour,
      };
    },
    [store.tenant, store.branch, w.hours],
    { intervalMs: refreshMs },
  );

  if (state.status === 'loading') return <LoadingState what={`store ${store.branch}`} />;
  if (state.status === 'error') {
    if (isForbidden(state.error)) {
      return (
        <NoAccessState
          what={`the stores of ${store.tenant}`}
          why={`Reading a store needs a grant on its tenant (${store.tenant}) or on every tenant.`}
          error={state.error}
        />
      );
    }
    return <ErrorState what={`store ${store.branch} (GET /api/v1/stores, /sales, /stock)`} error={state.error} onRetry={reload} />;
  }

  const { summary, sales, stock } = state.data;
  const now = loadedAt ?? Date.now();
  if (summary === null) {
    return (
      <EmptyState title="No such store" action={<a href="#stores">Back to all stores</a>}>
        The master lists no store “{store.branch}” of tenant “{store.tenant}”: a store appears once its region has
        summarised one of its events up to this master. Check the address, or choose one from the list.
      </EmptyState>
    );
  }

  return (
    <>
      {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
      <div className="stats">
        <div className="stat">
          <span className="stat-label">Tenant</span>
          <span className="stat-value" data-testid="store-tenant">{summary.tenant}</span>
        </div>
        <div className="stat">
          <span className="stat-label">{summary.regions.length === 1 ? 'Region' : 'Regions'}</span>
          <span className="stat-value" data-testid="store-region">{summary.regions.join(', ')}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Events received</span>
          <span className="stat-value" data-testid="store-events">{summary.events.toLocaleString()}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Last event</span>
          <span className="stat-value" data-testid="store-last-event">
            <time dateTime={new Date(summary.lastEventMs).toISOString()} title={formatAbsolute(summary.lastEventMs)}>
              {formatRelative(summary.lastEventMs, now)}
            </time>
          </span>
          <span className="muted small">{formatAbsolute(summary.lastEventMs)}</span>
        </div>
      </div>

      <Card
        title={`Sales per hour over ${w.text}`}
        actions={
          <span className="row">
            <span className="toolbar-label" id="store-window-label">
              Window
            </span>
            <ToggleGroup type="single" value={win} onValueChange={(v) => v && setWin(v as WindowId)} aria-labelledby="store-window-label">
              {WINDOWS.map((x) => (
                <ToggleGroupItem key={x.value} value={x.value} aria-label={`Last ${x.label}`}>
                  {x.label}
                </ToggleGroupItem>
              ))}
            </ToggleGroup>
          </span>
        }
      >
        <SalesTable rows={sales} windowText={w.text} />
      </Card>

      <Card title="Stock per SKU" actions={<span className="muted small">{stock.length} SKU{stock.length === 1 ? '' : 's'}</span>}>
        <StockTable rows={stock} />
      </Card>

      <Card title="Recent errors">
        {rejections ? (
          <Rejections regions={summary.regions} refreshMs={refreshMs} />
        ) : (
          <NoAccessState
            what="rejected events"
            why="Rejected events span every tenant: reading them needs a grant on every tenant (*). The rest of this store's page is yours to see."
          />
        )}
      </Card>
    </>
  );
}

function SalesTable({ rows, windowText }: { rows: SalesRow[]; windowText: string }) {
  const hours = salesPerHour(rows);
  if (hours.length === 0) {
    return (
      <EmptyState title="No sales">
        This store has no sales summarised up to the master in {windowText}. Sales appear an hour at a time, once its
        region has sent their summaries.
      </EmptyState>
    );
  }
  return (
    <Table caption={`Sales of this store per hour and currency over ${windowText}, newest first`}>
      <thead>
        <tr>
          <Th>Hour</Th>
          <Th numeric>Events</Th>
          <Th>By type</Th>
          <Th numeric>Amount</Th>
        </tr>
      </thead>
      <tbody>
        {hours.map((h) => (
          <tr key={`${h.hour}/${h.currency}`}>
            <Td>{formatHour(h.hour)}</Td>
            <Td numeric>{h.count.toLocaleString()}</Td>
            <Td className="small">
              {Object.entries(h.byType)
                .map(([t, n]) => `${t} ${n}`)
                .join(' · ')}
            </Td>
            <Td numeric>{formatMinor(h.amountMinor, h.currency)}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

function StockTable({ rows }: { rows: StockRow[] }) {
  if (rows.length === 0) {
    return (
      <EmptyState title="No stock levels">
        Stock per SKU appears once this store's inventory events (received, sold, transferred, adjusted) have been
        summarised up to this master. There are none yet.
      </EmptyState>
    );
  }
  return (
    <Table caption="Stock on hand of this store per SKU">
      <thead>
        <tr>
          <Th>SKU</Th>
          <Th numeric>On hand</Th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.sku}>
            <Td className="mono">{r.sku}</Td>
            <Td numeric>
              <OnHand units={r.on_hand} />
            </Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

function Rejections({ regions, refreshMs }: { regions: number[]; refreshMs: number }) {
  const { state, reload, loadedAt } = useResource<RejectedEvent[]>(
    (signal) => api.rejected({ signal }).then((r) => regionRejections(r.rejected, regions)),
    [regions.join(',')],
    { intervalMs: refreshMs },
  );
  const where = `region${regions.length === 1 ? '' : 's'} ${regions.join(', ')}`;
  const note = (
    <div className="banner banner-info" role="note" data-testid="rejections-note">
      Not per store yet. {NOT_FORWARDED}
    </div>
  );
  if (state.status === 'loading') return <LoadingState what="rejected events" />;
  if (state.status === 'error') {
    if (isForbidden(state.error)) {
      return <NoAccessState what="rejected events" why="Reading them needs a grant on every tenant (*)." error={state.error} />;
    }
    return <ErrorState what="rejected events (GET /api/v1/rejected)" error={state.error} onRetry={reload} />;
  }
  const rows = state.data;
  return (
    <>
      {note}
      {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
      {rows.length === 0 ? (
        <EmptyState title={`No rejected events in ${where}`}>
          The master has refused none of the summaries {where} sent.
        </EmptyState>
      ) : (
        <RejectedTable rows={rows} caption={`Events the master refused from ${where}, newest first (any of its stores')`} />
      )}
    </>
  );
}
