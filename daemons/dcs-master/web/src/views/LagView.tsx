// Lag: each region's lag over a window (GET /api/v1/regions/history), as a line chart and a
// table of the newest and highest values, then each region's forwarding backlog towards
// PostgreSQL and Kafka the same way; refreshes every 30 s.

import { lazy, Suspense, useMemo, useState } from 'react';
import { api } from '../api';
import { Card } from '../components/ui/card';
import { EmptyState, ErrorState, LoadingState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { ToggleGroup, ToggleGroupItem } from '../components/ui/toggle-group';
import {
  DEFAULT_SAMPLE_EVERY_S,
  describeLag,
  formatEvery,
  formatMoment,
  lagSeries,
  lineStyle,
  readHistory,
  WINDOWS,
  windowOf,
  type History,
  type LagSeries,
  type WindowId,
} from '../lib/lag';
import { backlogSeries, sinkName, uniqueSinkSamples } from '../lib/backlog';
import type { SinkSample } from '../api/types';
import { formatAbsolute } from '../lib/time';
import { useResource } from '../lib/useResource';
import { HealthBadge, When } from './FleetView';

const LagChart = lazy(() => import('./LagChart'));

export const LAG_REFRESH_MS = 30_000;

interface Loaded extends History {
  fromMs: number;
  toMs: number;
  sinks: SinkSample[];
}

export function LagView({ refreshMs = LAG_REFRESH_MS, initialWindow = '24h' }: { refreshMs?: number; initialWindow?: WindowId }) {
  const [win, setWin] = useState<WindowId>(initialWindow);
  const w = windowOf(win);
  const { state, reload, loadedAt } = useResource<Loaded>(
    async (signal) => {
      const toMs = Date.now();
      const fromMs = toMs - w.ms;
      const sinks: SinkSample[] = [];
      const history = await readHistory(
        (since) =>
          api.regionHistory(since, { signal }).then((r) => {
            sinks.push(...(r.sinks ?? []));
            return r.samples;
          }),
        fromMs,
      );
      return { ...history, fromMs, toMs, sinks: uniqueSinkSamples(sinks) };
    },
    [w.ms],
    { intervalMs: refreshMs },
  );

  return (
    <div className="view">
      <div className="toolbar">
        <span className="toolbar-label" id="lag-window-label">
          Window
        </span>
        <ToggleGroup
          type="single"
          value={win}
          onValueChange={(v) => v && setWin(v as WindowId)}
          aria-labelledby="lag-window-label"
        >
          {WINDOWS.map((x) => (
            <ToggleGroupItem key={x.value} value={x.value} aria-label={`Last ${x.label}`}>
              {x.label}
            </ToggleGroupItem>
          ))}
        </ToggleGroup>
        <span className="muted small toolbar-note" aria-live="off">
          Refreshes every {Math.round(refreshMs / 1000)} s
          {loadedAt !== null && ` · updated ${new Date(loadedAt).toLocaleTimeString()}`}
        </span>
      </div>

      {state.status === 'loading' && <LoadingState what="the lag history" />}
      {state.status === 'error' && (
        <ErrorState what="the lag history (GET /api/v1/regions/history)" error={state.error} onRetry={reload} />
      )}
      {(state.status === 'ok' || state.status === 'stale') && (
        <>
          {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
          <LagResults data={state.data} windowText={w.text} />
        </>
      )}
    </div>
  );
}

function LagResults({ data, windowText }: { data: Loaded; windowText: string }) {
  const series = useMemo(() => lagSeries(data.samples), [data.samples]);
  // Regions taken off the chart (so a small lag is not flattened by a large one).
  const [hidden, setHidden] = useState<number[]>([]);

  if (series.regions.length === 0) {
    return (
      <EmptyState title="No samples yet">
        The master samples every region's lag and health every <span className="mono">registry.sample_every_s</span>{' '}
        seconds ({DEFAULT_SAMPLE_EVERY_S} s unless configured) and keeps them{' '}
        <span className="mono">registry.keep_hours</span>. None is from {windowText}: the first appear one interval
        after the master starts with regions configured.
      </EmptyState>
    );
  }

  const every = series.everyMs === null ? null : formatEvery(series.everyMs);
  return (
    <>
      {!data.complete && (
        <div className="banner banner-info" role="status">
          The window holds more samples than the dashboard reads at once: the chart ends at{' '}
          {series.to === null ? '—' : formatAbsolute(series.to)}. Choose a shorter window to see the newest.
        </div>
      )}
      <Card
        title={`Lag over ${windowText}`}
        actions={
          <span className="muted small">
            Unacknowledged outbox items per region{every && ` · sampled every ${every}`}
            {series.bucket > 1 && ` · each point the highest of ${series.bucket} samples`}
          </span>
        }
      >
        {series.regions.length > 1 && (
          <div className="toolbar">
            <span className="toolbar-label" id="lag-regions-label">
              Regions drawn
            </span>
            <ToggleGroup
              type="multiple"
              value={series.regions.filter((r) => !hidden.includes(r)).map(String)}
              onValueChange={(v) => setHidden(series.regions.filter((r) => !v.includes(String(r))))}
              aria-labelledby="lag-regions-label"
            >
              {series.regions.map((r, i) => (
                <ToggleGroupItem key={r} value={String(r)}>
                  <span aria-hidden className="swatch" style={{ background: lineStyle(i).stroke }} />
                  Region {r}
                </ToggleGroupItem>
              ))}
            </ToggleGroup>
          </div>
        )}
        <Suspense fallback={<LoadingState what="the chart" />}>
          <LagChart
            series={series}
            fromMs={data.fromMs}
            toMs={data.toMs}
            hidden={hidden}
            label={describeLag(series, windowText, hidden)}
          />
        </Suspense>
      </Card>
      <Card title="Per region">
        <LagTable series={series} windowText={windowText} now={data.toMs} />
      </Card>
      <Backlog data={data} windowText={windowText} />
    </>
  );
}

/** Each region's backlog towards each sink (PostgreSQL, Kafka) over the window. */
function Backlog({ data, windowText }: { data: Loaded; windowText: string }) {
  const b = useMemo(() => backlogSeries(data.sinks), [data.sinks]);
  if (b.lines.length === 0) {
    return (
      <Card title="Forwarding backlog">
        <EmptyState title="No forwarding backlog reported">
          A region's leader reports, every few seconds, how many accepted events it has not yet
          written to each sink it forwards to (PostgreSQL, Kafka). None has in {windowText}: the
          regions forward to no sink, or are not connected to this master.
        </EmptyState>
      </Card>
    );
  }
  const name = (id: number) => b.names.get(id) ?? `line ${id}`;
  const label = `Forwarding backlog over ${windowText}: ${b.series.latest
    .map((l) => `${name(l.region)} ${l.lag.toLocaleString()} now, highest ${l.peak.toLocaleString()}`)
    .join('; ')}`;
  return (
    <Card
      title={`Forwarding backlog over ${windowText}`}
      actions={<span className="muted small">Accepted events not yet in each sink, per region</span>}
    >
      <Suspense fallback={<LoadingState what="the chart" />}>
        <LagChart
          series={b.series}
          fromMs={data.fromMs}
          toMs={data.toMs}
          label={label}
          nameOf={name}
          yLabel="Backlog (events)"
          testId="backlog-chart"
        />
      </Suspense>
      <Table caption={`Each region's newest and highest backlog per sink over ${windowText}`}>
        <thead>
          <tr>
            <Th numeric>Region</Th>
            <Th>Sink</Th>
            <Th numeric>Backlog now</Th>
            <Th numeric>Highest</Th>
            <Th>Newest sample</Th>
          </tr>
        </thead>
        <tbody>
          {b.lines.map((l, i) => {
            const r = b.series.latest[i]!;
            return (
              <tr key={l.id} data-testid={`backlog-${l.region}-${l.sink}`}>
                <Td numeric>{l.region}</Td>
                <Td>{sinkName(l.sink)}</Td>
                <Td numeric>{r.lag.toLocaleString()}</Td>
                <Td numeric>{r.peak.toLocaleString()}</Td>
                <Td>
                  <When ms={r.at_ms} now={data.toMs} />
                </Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
    </Card>
  );
}

function LagTable({ series, windowText, now }: { series: LagSeries; windowText: string; now: number }) {
  return (
    <Table caption={`Each region's newest and highest lag over ${windowText}`}>
      <thead>
        <tr>
          <Th numeric>Region</Th>
          <Th>Status</Th>
          <Th numeric>Lag now</Th>
          <Th numeric>Highest</Th>
          <Th>Highest at</Th>
          <Th>Newest sample</Th>
        </tr>
      </thead>
      <tbody>
        {series.latest.map((r) => (
          <tr key={r.region}>
            <Td numeric>{r.region}</Td>
            <Td>
              <HealthBadge health={r.health} />
            </Td>
            <Td numeric>{r.lag.toLocaleString()}</Td>
            <Td numeric>{r.peak.toLocaleString()}</Td>
            <Td>
              {r.peak === 0 ? (
                <span className="muted">never above 0</span>
              ) : (
                <time dateTime={new Date(r.peakAt).toISOString()} title={formatAbsolute(r.peakAt)}>
                  {formatMoment(r.peakAt)}
                </time>
              )}
            </Td>
            <Td>
              <When ms={r.at_ms} now={now} />
            </Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
