// The lag-over-time chart (Recharts), in its own module so it loads with the charting library.

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatTick, lagKey, lineStyle, type LagPoint, type LagSeries } from '../lib/lag';
import { formatAbsolute } from '../lib/time';

export default function LagChart({
  series,
  fromMs,
  toMs,
  label,
  hidden = [],
  nameOf = (r) => `Region ${r}`,
  yLabel = 'Lag (items)',
  testId = 'lag-chart',
}: {
  series: LagSeries;
  /** A line's name (default "Region N"). */
  nameOf?: (id: number) => string;
  /** The y axis's label. */
  yLabel?: string;
  testId?: string;
  /** Regions whose line is not drawn (their legend entry stays, greyed). */
  hidden?: readonly number[];
  /** The window asked for: the x axis spans it even where no sample is yet. */
  fromMs: number;
  toMs: number;
  label: string;
}) {
  const span = toMs - fromMs;
  return (
    // A figure, not an image: the chart inside is focusable (Recharts' keyboard layer: Tab to
    // it, arrows move the tooltip), which an image's presentational children would hide.
    <div className="chart" role="figure" aria-label={label} data-testid={testId}>
      <ResponsiveContainer width="100%" height={300}>
        <LineChart data={series.points} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis
            dataKey="at"
            type="number"
            scale="time"
            domain={[fromMs, toMs]}
            tickFormatter={(v: number) => formatTick(v, span)}
            minTickGap={32}
            tick={{ fontSize: 12 }}
          />
          <YAxis
            width={64}
            allowDecimals={false}
            tick={{ fontSize: 12 }}
            tickFormatter={(v: number) => v.toLocaleString()}
            label={{ value: yLabel, angle: -90, position: 'insideLeft', style: { fontSize: 12, fill: '#5b6472' } }}
          />
          <Tooltip
            content={({ active, payload }) => {
              const p = active && payload?.[0] ? (payload[0].payload as LagPoint) : null;
              if (!p) return null;
              return (
                <div className="chart-tooltip">
                  <strong>{formatAbsolute(p.at)}</strong>
                  {series.bucket > 1 && <div className="muted small">highest of {series.bucket} samples</div>}
                  {series.regions.map((r, i) =>
                    p[lagKey(r)] === undefined || hidden.includes(r) ? null : (
                      <div key={r}>
                        <span aria-hidden style={{ color: lineStyle(i).stroke }}>
                          ●{' '}
                        </span>
                        {nameOf(r)}: {p[lagKey(r)]!.toLocaleString()}
                      </div>
                    ),
                  )}
                </div>
              );
            }}
          />
          <Legend wrapperStyle={{ fontSize: 13 }} />
          {series.regions.map((r, i) => (
            <Line
              key={r}
              type="linear"
              dataKey={lagKey(r)}
              name={nameOf(r)}
              {...lineStyle(i)}
              strokeWidth={2}
              dot={series.points.length === 1}
              connectNulls
              hide={hidden.includes(r)}
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
