import { describe, expect, it, vi } from 'vitest';
import type { RegionSample } from '../api/types';
import { describeLag, formatEvery, formatTick, lagKey, lagSeries, lineStyle, readHistory, windowOf } from './lag';
import { HOUR_MS } from './time';

const s = (region: number, at_ms: number, lag: number, health: RegionSample['health'] = 'alive'): RegionSample => ({ region, at_ms, lag, health });

describe('lag series from the master samples', () => {
  it('makes one point per sampling instant with one key per region, oldest first', () => {
    const series = lagSeries([s(2, 1000, 5), s(1, 1000, 0), s(1, 61_000, 3), s(2, 61_000, 7), s(1, 121_000, 1), s(2, 121_000, 2, 'suspect')]);
    expect(series.regions).toEqual([1, 2]);
    expect(series.points).toEqual([
      { at: 1000, r1: 0, r2: 5 },
      { at: 61_000, r1: 3, r2: 7 },
      { at: 121_000, r1: 1, r2: 2 },
    ]);
    expect(series.from).toBe(1000);
    expect(series.to).toBe(121_000);
    expect(series.everyMs).toBe(60_000);
    expect(series.bucket).toBe(1);
  });

  it('keeps each region newest sample and its highest lag (first reached) in the window', () => {
    const series = lagSeries([s(1, 0, 4), s(3, 0, 9), s(1, 60, 9), s(3, 60, 9), s(1, 120, 9), s(3, 120, 1, 'failed')]);
    expect(series.latest).toEqual([
      { region: 1, lag: 9, health: 'alive', at_ms: 120, peak: 9, peakAt: 60 },
      { region: 3, lag: 1, health: 'failed', at_ms: 120, peak: 9, peakAt: 0 },
    ]);
  });

  it('leaves a region out of the instants it was not sampled at (a region added later)', () => {
    const series = lagSeries([s(1, 0, 1), s(1, 60, 2), s(4, 60, 8)]);
    expect(series.points).toEqual([{ at: 0, r1: 1 }, { at: 60, r1: 2, r4: 8 }]);
    expect(series.regions).toEqual([1, 4]);
  });

  it('does not rely on the rows order', () => {
    const ordered = lagSeries([s(1, 0, 1), s(2, 0, 2), s(1, 60, 3), s(2, 60, 4)]);
    const shuffled = lagSeries([s(2, 60, 4), s(1, 0, 1), s(1, 60, 3), s(2, 0, 2)]);
    expect(shuffled).toEqual(ordered);
  });

  it('reduces a long window to at most maxPoints points, keeping each bucket highest lag', () => {
    const rows: RegionSample[] = [];
    for (let i = 0; i < 10; i++) rows.push(s(1, i * 60, i === 3 ? 500 : i), s(2, i * 60, 0));
    const series = lagSeries(rows, 4);
    expect(series.bucket).toBe(3);
    expect(series.points).toEqual([
      { at: 120, r1: 2, r2: 0 },
      { at: 300, r1: 500, r2: 0 },
      { at: 480, r1: 8, r2: 0 },
      { at: 540, r1: 9, r2: 0 },
    ]);
    expect(series.latest[0]).toMatchObject({ lag: 9, peak: 500, peakAt: 180 });
  });

  it('is empty without samples', () => {
    const series = lagSeries([]);
    expect(series).toEqual({ regions: [], points: [], latest: [], from: null, to: null, everyMs: null, bucket: 1 });
    expect(describeLag(series, 'the last hour')).toBe('No lag samples in the last hour');
  });

  it('says the interval as the median gap, so one missed sample does not change it', () => {
    expect(lagSeries([s(1, 0, 0), s(1, 60_000, 0), s(1, 120_000, 0), s(1, 300_000, 0)]).everyMs).toBe(60_000);
    expect(lagSeries([s(1, 0, 0)]).everyMs).toBeNull();
  });

  it('describes the chart with each region newest and highest lag', () => {
    const series = lagSeries([s(1, 0, 0), s(2, 0, 1200), s(1, 60, 3), s(2, 60, 118)]);
    expect(describeLag(series, 'the last 24 hours')).toBe(
      `Line chart of the lag of 2 regions over the last 24 hours. Latest lag: region 1 3 (peak 3), region 2 118 (peak ${(1200).toLocaleString()}). The same figures are in the table below.`,
    );
  });

  it('names each region line by a key of its own, and gives it a colour, then a dash past ten', () => {
    expect(lagKey(7)).toBe('r7');
    const strokes = Array.from({ length: 10 }, (_, i) => lineStyle(i).stroke);
    expect(new Set(strokes).size).toBe(10);
    expect(lineStyle(0).strokeDasharray).toBeUndefined();
    expect(lineStyle(10)).toEqual({ stroke: lineStyle(0).stroke, strokeDasharray: '6 3' });
  });
});

describe('reading a window of history', () => {
  it('asks once when the answer is not full', async () => {
    const page = vi.fn(async () => [s(1, 10, 0)]);
    expect(await readHistory(page, 5)).toEqual({ samples: [s(1, 10, 0)], complete: true });
    expect(page).toHaveBeenCalledWith(5);
  });

  it('follows a full answer from its last instant, asked again whole', async () => {
    const answers: Record<number, RegionSample[]> = {
      0: [s(1, 0, 1), s(2, 0, 1), s(1, 60, 2)], // full (3), instant 60 cut short
      60: [s(1, 60, 2), s(2, 60, 2), s(1, 120, 3)], // full again
      120: [s(1, 120, 3), s(2, 120, 3)],
    };
    const page = vi.fn(async (since: number) => answers[since]!);
    const h = await readHistory(page, 0, { maxRows: 3 });
    expect(page.mock.calls.map((c) => c[0])).toEqual([0, 60, 120]);
    expect(h.complete).toBe(true);
    expect(h.samples).toEqual([s(1, 0, 1), s(2, 0, 1), s(1, 60, 2), s(2, 60, 2), s(1, 120, 3), s(2, 120, 3)]);
  });

  it('stops after maxPages answers and says the newest are missing', async () => {
    const page = vi.fn(async (since: number) => [s(1, since, 0), s(1, since + 60, 0)]);
    const h = await readHistory(page, 0, { maxRows: 2, maxPages: 2 });
    expect(page).toHaveBeenCalledTimes(2);
    expect(h).toEqual({ samples: [s(1, 0, 0), s(1, 60, 0)], complete: false });
  });

  it('does not loop when one instant fills a whole answer', async () => {
    const page = vi.fn(async () => [s(1, 60, 0), s(2, 60, 0)]);
    const h = await readHistory(page, 0, { maxRows: 2 });
    expect(page).toHaveBeenCalledTimes(1);
    expect(h.complete).toBe(false);
    expect(h.samples).toHaveLength(2);
  });
});

describe('lag text', () => {
  it('formats sampling intervals', () => {
    expect(formatEvery(60_000)).toBe('60 s');
    expect(formatEvery(5_000)).toBe('5 s');
    expect(formatEvery(300_000)).toBe('5 min');
    expect(formatEvery(2 * HOUR_MS)).toBe('2 h');
  });

  it('adds the weekday to ticks only past a day', () => {
    const at = new Date(2026, 11, 4, 14, 30).getTime();
    const short = formatTick(at, 6 * HOUR_MS);
    const long = formatTick(at, 7 * 24 * HOUR_MS);
    expect(short).toMatch(/30/);
    expect(long.length).toBeGreaterThan(short.length);
  });

  it('knows its windows', () => {
    expect(windowOf('1h').ms).toBe(HOUR_MS);
    expect(windowOf('7d').text).toBe('the last 7 days');
  });
});
