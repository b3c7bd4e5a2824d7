// Sales: amount per hour (chart) and per region and branch (table), by tenant and time range.

import { lazy, Suspense, useId, useMemo, useState, type FormEvent } from 'react';
import { api } from '../api';
import type { SalesRow } from '../api/types';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { Select } from '../components/ui/select';
import { EmptyState, ErrorState, LoadingState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { formatMinor } from '../lib/money';
import {
  aggregateByBranch,
  aggregateByHour,
  currencies,
  eventTypes,
  filterSales,
  total,
  type BranchTotal,
  type HourTotal,
} from '../lib/sales';
import { formatHour, fromLocalInput, HOUR_MS, hourOf, toLocalInput } from '../lib/time';
import { useResource } from '../lib/useResource';
import { firstTenant, TenantField, useTenants } from './TenantField';

const SalesChart = lazy(() => import('./SalesChart'));

type Preset = '24h' | '7d' | '30d' | 'all' | 'custom';

const PRESETS: { value: Preset; label: string; hours?: number }[] = [
  { value: '24h', label: 'Last 24 hours', hours: 24 },
  { value: '7d', label: 'Last 7 days', hours: 24 * 7 },
  { value: '30d', label: 'Last 30 days', hours: 24 * 30 },
  { value: 'all', label: 'All time' },
  { value: 'custom', label: 'Custom range' },
];

interface Query {
  tenant: string;
  fromHour?: number;
  toHour?: number;
}

const ALL = '*';

function rangeOf(preset: Preset, from: string, to: string, now: number): { fromHour?: number; toHour?: number } | string {
  const p = PRESETS.find((x) => x.value === preset);
  if (p?.hours) {
    const end = hourOf(now) + 1; // the current hour included
    return { fromHour: end - p.hours, toHour: end };
  }
  if (preset === 'all') return {};
  const f = fromLocalInput(from);
  const t = fromLocalInput(to);
  if (from && f === null) return 'From: enter a date and time';
  if (to && t === null) return 'To: enter a date and time';
  if (f !== null && t !== null && f > t) return 'From must not be after To';
  return { fromHour: f === null ? undefined : hourOf(f), toHour: t === null ? undefined : hourOf(t) + 1 };
}

export function SalesView() {
  const ids = useId();
  const tenants = useTenants();
  const [tenant, setTenant] = useState(() => firstTenant(tenants));
  const [preset, setPreset] = useState<Preset>('7d');
  const [from, setFrom] = useState(() => toLocalInput(Date.now() - 7 * 24 * HOUR_MS));
  const [to, setTo] = useState(() => toLocalInput(Date.now()));
  const [formError, setFormError] = useState<string | null>(null);
  const [query, setQuery] = useState<Query>(() => ({ tenant: firstTenant(tenants), ...(rangeOf('7d', '', '', Date.now()) as object) }));

  const { state, reload, loadedAt } = useResource(
    (signal) =>
      api
        .sales({ tenant: query.tenant || undefined, from_hour: query.fromHour, to_hour: query.toHour }, { signal })
        .then((r) => r.sales),
    [query.tenant, query.fromHour, query.toHour],
  );

  const apply = (e: FormEvent) => {
    e.preventDefault();
    const r = rangeOf(preset, from, to, Date.now());
    if (typeof r === 'string') {
      setFormError(r);
      return;
    }
    setFormError(null);
    setQuery({ tenant: tenant.trim(), ...r });
  };

  return (
    <div className="view">
      <Card title="Filters">
        <form className="filters" onSubmit={apply} aria-label="Sales filters">
          <TenantField id={`${ids}-tenant`} tenants={tenants} value={tenant} onChange={setTenant} />
          <Field id={`${ids}-range`} label="Time range">
            <Select
              id={`${ids}-range`}
              value={preset}
              onValueChange={(v) => setPreset(v as Preset)}
              options={PRESETS.map((p) => ({ value: p.value, label: p.label }))}
            />
          </Field>
          {preset === 'custom' && (
            <>
              <Field id={`${ids}-from`} label="From (local time)">
                <Input id={`${ids}-from`} type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
              </Field>
              <Field id={`${ids}-to`} label="To (local time, its hour included)">
                <Input id={`${ids}-to`} type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
              </Field>
            </>
          )}
          <div className="filters-submit">
            <Button type="submit">Apply</Button>
            <Button type="button" variant="outline" onClick={reload} disabled={state.status === 'loading'}>
              Refresh
            </Button>
          </div>
        </form>
        {formError && (
          <p className="field-error" role="alert">
            {formError}
          </p>
        )}
      </Card>

      {state.status === 'loading' && <LoadingState what="sales" />}
      {state.status === 'error' && <ErrorState what="sales (GET /api/v1/sales)" error={state.error} onRetry={reload} />}
      {(state.status === 'ok' || state.status === 'stale') && (
        <>
          {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
          <SalesResults rows={state.data} query={query} anyTenant={tenants === null} />
        </>
      )}
    </div>
  );
}

function describeQuery(q: Query): string {
  const who = q.tenant ? `tenant “${q.tenant}”` : 'any tenant';
  const when =
    q.fromHour === undefined && q.toHour === undefined
      ? 'at any time'
      : `from ${q.fromHour === undefined ? 'the start' : formatHour(q.fromHour)} to ${
          q.toHour === undefined ? 'now' : formatHour(q.toHour)
        }`;
  return `${who}, ${when}`;
}

function SalesResults({ rows, query, anyTenant }: { rows: SalesRow[]; query: Query; anyTenant: boolean }) {
  const ids = useId();
  const types = useMemo(() => eventTypes(rows), [rows]);
  const curs = useMemo(() => currencies(rows), [rows]);
  const [typeChoice, setTypeChoice] = useState<string>('SALE_COMPLETED');
  const [curChoice, setCurChoice] = useState<string | null>(null);

  if (rows.length === 0) {
    return (
      <EmptyState title="No sales in this range">
        Hourly sales per region and branch appear here once stores' sales have been summarised
        up to this master. None match {describeQuery(query)}: widen the time range
        {anyTenant ? ' or clear the tenant' : ''}.
      </EmptyState>
    );
  }

  const eventType = typeChoice === ALL || types.includes(typeChoice) ? typeChoice : (types[0] ?? ALL);
  const currency = curChoice && curs.includes(curChoice) ? curChoice : curs[0]!;
  const filtered = filterSales(rows, { eventType: eventType === ALL ? null : eventType, currency });
  const hours = aggregateByHour(
    filtered,
    query.fromHour !== undefined && query.toHour !== undefined ? { from: query.fromHour, to: query.toHour } : undefined,
  );
  const branches = aggregateByBranch(filtered);
  const sum = total(filtered);
  const typeLabel = eventType === ALL ? 'all event types' : eventType;

  return (
    <>
      <div className="toolbar">
        <Field id={`${ids}-type`} label="Event type">
          <Select
            id={`${ids}-type`}
            value={eventType}
            onValueChange={setTypeChoice}
            options={[...types.map((t) => ({ value: t, label: t })), { value: ALL, label: 'All event types' }]}
          />
        </Field>
        <Field id={`${ids}-cur`} label="Currency" hint={curs.length > 1 ? `${curs.length} currencies: amounts are never added across them` : undefined}>
          <Select
            id={`${ids}-cur`}
            value={currency}
            onValueChange={setCurChoice}
            options={curs.map((c) => ({ value: c, label: c }))}
            disabled={curs.length < 2}
          />
        </Field>
        <div className="stat">
          <span className="stat-label">Total ({typeLabel})</span>
          <span className="stat-value" data-testid="sales-total">
            {formatMinor(sum.amountMinor, currency)}
          </span>
          <span className="muted small">{sum.count.toLocaleString()} events</span>
        </div>
      </div>

      {filtered.length === 0 ? (
        <EmptyState title={`No ${typeLabel} in ${currency}`}>
          The {rows.length} rows in this range are of other event types or currencies: choose
          another event type or currency above.
        </EmptyState>
      ) : (
        <SalesFigures hours={hours} branches={branches} sum={sum} currency={currency} typeLabel={typeLabel} query={query} />
      )}
    </>
  );
}

function SalesFigures({
  hours,
  branches,
  sum,
  currency,
  typeLabel,
  query,
}: {
  hours: HourTotal[];
  branches: BranchTotal[];
  sum: { count: number; amountMinor: bigint };
  currency: string;
  typeLabel: string;
  query: Query;
}) {
  return (
    <>
      <Card title={`Amount per hour · ${currency} · ${typeLabel}`}>
        <Suspense fallback={<LoadingState what="the chart" />}>
          <SalesChart hours={hours} currency={currency} />
        </Suspense>
      </Card>

      <Card title="Per region and branch">
        <Table caption={`Sales per region and branch, ${typeLabel}, ${currency}, ${describeQuery(query)}`}>
          <thead>
            <tr>
              <Th numeric>Region</Th>
              <Th>Branch</Th>
              <Th numeric>Events</Th>
              <Th numeric>Amount</Th>
            </tr>
          </thead>
          <tbody>
            {branches.map((b) => (
              <tr key={`${b.region}/${b.branch}`}>
                <Td numeric>{b.region}</Td>
                <Td>{b.branch}</Td>
                <Td numeric>{b.count.toLocaleString()}</Td>
                <Td numeric>{formatMinor(b.amountMinor, b.currency)}</Td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={2}>
                Total
              </th>
              <Td numeric>{sum.count.toLocaleString()}</Td>
              <Td numeric>{formatMinor(sum.amountMinor, currency)}</Td>
            </tr>
          </tfoot>
        </Table>
      </Card>

      <details className="card details">
        <summary>Hourly figures as a table</summary>
        <Table caption={`Amount per hour, ${typeLabel}, ${currency}`}>
          <thead>
            <tr>
              <Th>Hour</Th>
              <Th numeric>Events</Th>
              <Th numeric>Amount</Th>
            </tr>
          </thead>
          <tbody>
            {hours
              .filter((h) => h.count > 0 || h.amountMinor !== 0n)
              .map((h) => (
                <tr key={h.hour}>
                  <Td>{formatHour(h.hour)}</Td>
                  <Td numeric>{h.count.toLocaleString()}</Td>
                  <Td numeric>{formatMinor(h.amountMinor, currency)}</Td>
                </tr>
              ))}
          </tbody>
        </Table>
      </details>
    </>
  );
}
