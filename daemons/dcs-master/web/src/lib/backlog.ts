// Each region's forwarding backlog towards PostgreSQL and Kafka over time (`sinks` of
// `GET /api/v1/regions/history`): one line per region and sink, drawn by the lag chart.

import type { RegionSample, SinkSample } from '../api/types';
import { lagSeries, MAX_POINTS, type LagSeries } from './lag';

export interface BacklogSeries {
  series: LagSeries;
  /** The line id of each (region, sink), and its name. */
  names: Map<number, string>;
  /** Per line, in `series.regions` order: its region and sink. */
  lines: Array<{ id: number; region: number; sink: string }>;
}

/** Keeps one sample per (region, sink, instant): pages of the history overlap at their edges. */
export function uniqueSinkSamples(samples: readonly SinkSample[]): SinkSample[] {
  const seen = new Map<string, SinkSample>();
  for (const s of samples) seen.set(`${s.region}/${s.sink}/${s.at_ms}`, s);
  return [...seen.values()].sort((a, b) => a.at_ms - b.at_ms || a.region - b.region || a.sink.localeCompare(b.sink));
}

/** Shapes sink samples into the chart's series: each (region, sink) pair is one line. */
export function backlogSeries(samples: readonly SinkSample[], maxPoints = MAX_POINTS): BacklogSeries {
  const pairs = [...new Set(samples.map((s) => `${s.region}\u0000${s.sink}`))]
    .map((k) => {
      const [region, sink] = k.split('\u0000') as [string, string];
      return { region: Number(region), sink };
    })
    .sort((a, b) => a.region - b.region || a.sink.localeCompare(b.sink));
  const lines = pairs.map((p, id) => ({ id, ...p }));
  const idOf = new Map(lines.map((l) => [`${l.region}\u0000${l.sink}`, l.id]));
  const rows: RegionSample[] = samples.map((s) => ({
    region: idOf.get(`${s.region}\u0000${s.sink}`)!,
    at_ms: s.at_ms,
    lag: s.backlog,
    health: 'alive',
  }));
  const names = new Map(lines.map((l) => [l.id, `Region ${l.region} → ${sinkName(l.sink)}`]));
  return { series: lagSeries(rows, maxPoints), names, lines };
}

/** "PostgreSQL", "Kafka", or the name as reported. */
export function sinkName(sink: string): string {
  if (sink === 'postgres') return 'PostgreSQL';
  if (sink === 'kafka') return 'Kafka';
  return sink;
}
