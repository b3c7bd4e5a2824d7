import { describe, expect, it } from 'vitest';
import { backlogSeries, sinkName, uniqueSinkSamples } from './backlog';
import { lagKey } from './lag';

const k = (region: number, sink: string, at_ms: number, backlog: number) => ({ region, sink, at_ms, backlog });

describe('forwarding backlog series', () => {
  it('draws one line per region and sink, and keeps each line’s newest and highest', () => {
    const b = backlogSeries([k(1, 'postgres', 10, 5), k(1, 'kafka', 10, 7), k(0, 'kafka', 20, 1), k(1, 'postgres', 20, 2)]);
    expect(b.lines).toEqual([
      { id: 0, region: 0, sink: 'kafka' },
      { id: 1, region: 1, sink: 'kafka' },
      { id: 2, region: 1, sink: 'postgres' },
    ]);
    expect(b.names.get(2)).toBe('Region 1 → PostgreSQL');
    expect(b.series.points).toEqual([
      { at: 10, [lagKey(1)]: 7, [lagKey(2)]: 5 },
      { at: 20, [lagKey(0)]: 1, [lagKey(2)]: 2 },
    ]);
    const pg = b.series.latest[2]!;
    expect([pg.lag, pg.peak, pg.peakAt]).toEqual([2, 5, 10]);
  });

  it('drops the samples pages repeat at their edges, in time order', () => {
    expect(uniqueSinkSamples([k(1, 'kafka', 20, 3), k(1, 'kafka', 10, 1), k(1, 'kafka', 20, 3)])).toEqual([
      k(1, 'kafka', 10, 1),
      k(1, 'kafka', 20, 3),
    ]);
  });

  it('names the sinks as people know them', () => {
    expect([sinkName('postgres'), sinkName('kafka'), sinkName('other')]).toEqual(['PostgreSQL', 'Kafka', 'other']);
  });
});
