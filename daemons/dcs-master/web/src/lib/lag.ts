// The regions' lag over time: the master's samples (`GET /api/v1/regions/history`, one row per
// region and sampling instant) shaped into what the chart draws (one point per instant, one
// value per region) and the per-region summary the table and the chart's label say.

import { HISTORY_MAX_ROWS, type Health, type RegionSample } from '../api/types';
import { HOUR_MS } from './time';

/** The windows the view offers, newest samples last. */
export const WINDOWS = [
  { value: '1h', label: '1 h', ms: HOUR_MS, text: 'the last hour' },
  { value: '6h', label: '6 h', ms: 6 * HOUR_MS, text: 'the last 6 hours' },
  { value: '24h', label: '24 h', ms: 24 * HOUR_MS, text: 'the last 24 hours' },
  { value: '7d', label: '7 d', ms: 7 * 24 * HOUR_MS, text: 'the last 7 days' },
] as const;

export type WindowId = (typeof WINDOWS)[number]['value'];

export function windowOf(id: WindowId): (typeof WINDOWS)[number] {
  return WINDOWS.find((w) => w.value === id) ?? WINDOWS[2];
}

/** The master's default `registry.sample_every_s`, said where no sample tells the real one. */
export const DEFAULT_SAMPLE_EVERY_S = 60;

/** The most points per line the chart draws; longer series are reduced to this many. */
export const MAX_POINTS = 480;

/** The data key of a region's line in a point. */
export function lagKey(region: number): string {
  return `r${region}`;
}

// Distinguishable on white (3:1 or more); past ten regions the lines are dashed as well.
const COLORS = ['#2563eb', '#c2410c', '#15803d', '#9333ea', '#b91c1c', '#0e7490', '#a16207', '#be185d', '#4d7c0f', '#475569'];
const DASHES = [undefined, '6 3', '2 3', '8 3 2 3'];

/** The stroke of the region at `index` of `LagSeries.regions` (stable when others are hidden). */
export function lineStyle(index: number): { stroke: string; strokeDasharray?: string } {
  return { stroke: COLORS[index % COLORS.length]!, strokeDasharray: DASHES[Math.floor(index / COLORS.length) % DASHES.length] };
}

/** One instant: `at` (Unix ms) and each sampled region's lag under `lagKey(region)`. */
export type LagPoint = { at: number } & { [key: string]: number };

export interface RegionLag {
  region: number;
  /** The newest sample's. */
  lag: number;
  health: Health;
  at_ms: number;
  /** The highest lag in the window, and when it was first reached. */
  peak: number;
  peakAt: number;
}

export interface LagSeries {
  /** Every region sampled, ascending. */
  regions: number[];
  /** Oldest first. When `bucket` > 1 each point is the highest lag of `bucket` instants. */
  points: LagPoint[];
  /** Per region, in `regions` order. */
  latest: RegionLag[];
  /** The first and last sampling instants (null without samples). */
  from: number | null;
  to: number | null;
  /** The usual time between two samples (the median gap), null with fewer than two instants. */
  everyMs: number | null;
  /** How many sampling instants each point stands for. */
  bucket: number;
}

/**
 * Shapes the API's rows into the chart's series: rows of one instant become one point, each
 * region a key of it; above `maxPoints` instants, consecutive instants are merged keeping each
 * region's highest lag (so a spike is never smoothed away) at the last instant's time.
 */
export function lagSeries(samples: readonly RegionSample[], maxPoints = MAX_POINTS): LagSeries {
  const byAt = new Map<number, Map<number, number>>();
  const latest = new Map<number, RegionLag>();
  for (const s of samples) {
    let at = byAt.get(s.at_ms);
    if (!at) byAt.set(s.at_ms, (at = new Map()));
    at.set(s.region, s.lag);
    const prev = latest.get(s.region);
    if (!prev) {
      latest.set(s.region, { region: s.region, lag: s.lag, health: s.health, at_ms: s.at_ms, peak: s.lag, peakAt: s.at_ms });
      continue;
    }
    if (s.at_ms >= prev.at_ms) Object.assign(prev, { lag: s.lag, health: s.health, at_ms: s.at_ms });
    if (s.lag > prev.peak || (s.lag === prev.peak && s.at_ms < prev.peakAt)) Object.assign(prev, { peak: s.lag, peakAt: s.at_ms });
  }
  const instants = [...byAt.keys()].sort((a, b) => a - b);
  const regions = [...latest.keys()].sort((a, b) => a - b);

  const gaps: number[] = [];
  for (let i = 1; i < instants.length; i++) gaps.push(instants[i]! - instants[i - 1]!);
  gaps.sort((a, b) => a - b);
  const everyMs = gaps.length ? gaps[Math.floor((gaps.length - 1) / 2)]! : null;

  const bucket = Math.max(1, Math.ceil(instants.length / Math.max(1, maxPoints)));
  const points: LagPoint[] = [];
  for (let i = 0; i < instants.length; i += bucket) {
    const group = instants.slice(i, i + bucket);
    const point = { at: group[group.length - 1]! } as LagPoint;
    for (const at of group) {
      for (const [region, lag] of byAt.get(at)!) {
        const k = lagKey(region);
        const had = point[k];
        point[k] = had === undefined ? lag : Math.max(had, lag);
      }
    }
    points.push(point);
  }

  return {
    regions,
    points,
    latest: regions.map((r) => latest.get(r)!),
    from: instants[0] ?? null,
    to: instants[instants.length - 1] ?? null,
    everyMs,
    bucket,
  };
}

export interface History {
  samples: RegionSample[];
  /** False when the window held more samples than `maxPages` answers: the newest are missing. */
  complete: boolean;
}

/**
 * Reads every sample since `sinceMs`: the master answers at most `HISTORY_MAX_ROWS` rows
 * oldest first, so a full answer is followed by another from its last instant (which a full
 * answer may have cut short, so it is asked again whole), up to `maxPages` answers.
 */
export async function readHistory(
  page: (sinceMs: number) => Promise<RegionSample[]>,
  sinceMs: number,
  { maxPages = 5, maxRows = HISTORY_MAX_ROWS }: { maxPages?: number; maxRows?: number } = {},
): Promise<History> {
  const samples: RegionSample[] = [];
  let since = sinceMs;
  for (let n = 0; n < maxPages; n++) {
    const rows = await page(since);
    if (rows.length < maxRows) {
      samples.push(...rows);
      return { samples, complete: true };
    }
    const last = rows[rows.length - 1]!.at_ms;
    const before = rows.filter((r) => r.at_ms < last);
    if (before.length === 0 || last <= since) {
      // One instant fills a whole answer: nothing further can be asked.
      samples.push(...rows);
      return { samples, complete: false };
    }
    samples.push(...before);
    since = last;
  }
  return { samples, complete: false };
}

const moment = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** A sample's time, short: "Dec 4, 14:06". */
export function formatMoment(ms: number): string {
  return moment.format(new Date(ms));
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayClock = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });

/** An axis tick: the time of day, with the weekday when the window spans more than a day. */
export function formatTick(ms: number, spanMs: number): string {
  return (spanMs > 24 * HOUR_MS ? dayClock : clock).format(new Date(ms));
}

/** "60 s", "5 min", "2 h": a sampling interval. */
export function formatEvery(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** The chart's text alternative: what it shows and each region's newest lag. */
export function describeLag(series: LagSeries, windowText: string, hidden: readonly number[] = []): string {
  if (series.regions.length === 0) return `No lag samples in ${windowText}`;
  const shown = series.latest.filter((r) => !hidden.includes(r.region));
  if (shown.length === 0) return `Line chart of the lag over ${windowText}, every region hidden`;
  const n = shown.length;
  const latest = shown.map((r) => `region ${r.region} ${r.lag.toLocaleString()} (peak ${r.peak.toLocaleString()})`).join(', ');
  return `Line chart of the lag of ${n} region${n === 1 ? '' : 's'} over ${windowText}. Latest lag: ${latest}. The same figures are in the table below.`;
}
