// The amount-per-hour chart (Recharts), in its own module so it can load on its own.

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatMinor } from '../lib/money';
import type { HourTotal } from '../lib/sales';
import { formatHour } from '../lib/time';

interface Point {
  hour: number;
  label: string;
  /** For drawing only; the exact text is `amountText`. */
  amount: number;
  amountText: string;
  count: number;
}

export default function SalesChart({ hours, currency }: { hours: HourTotal[]; currency: string }) {
  const data: Point[] = hours.map((h) => ({
    hour: h.hour,
    label: formatHour(h.hour),
    amount: Number(h.amountMinor),
    amountText: formatMinor(h.amountMinor, currency),
    count: h.count,
  }));
  const tick = (v: number) => formatMinor(Math.round(v), currency);
  return (
    <div className="chart" role="img" aria-label={`Bar chart of the ${currency} amount per hour over ${hours.length} hours; the same figures are in the tables below`}>
      <ResponsiveContainer width="100%" height={280}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" minTickGap={24} tick={{ fontSize: 12 }} />
          <YAxis tickFormatter={tick} width={96} tick={{ fontSize: 12 }} allowDecimals={false} />
          <Tooltip
            cursor={{ fill: 'rgba(37, 99, 235, 0.08)' }}
            content={({ active, payload }) => {
              const p = active && payload?.[0] ? (payload[0].payload as Point) : null;
              if (!p) return null;
              return (
                <div className="chart-tooltip">
                  <strong>{p.label}</strong>
                  <div>{p.amountText}</div>
                  <div className="muted">{p.count.toLocaleString()} events</div>
                </div>
              );
            }}
          />
          <Bar dataKey="amount" name={`Amount (${currency})`} fill="#2563eb" radius={[3, 3, 0, 0]} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
