// Rejected events: what the master refused to take from the regions, and why (newest first).

import { useId, useState } from 'react';
import { api } from '../api';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { EmptyState, ErrorState, isForbidden, LoadingState, NoAccessState, StaleBanner } from '../components/ui/states';
import { RejectedTable } from '../components/RejectedTable';
import { describeGrants, readsEveryTenant } from '../lib/access';
import { useResource } from '../lib/useResource';
import { useGrants } from '../lib/useSession';

const WHY = 'Rejected events span every tenant: reading them needs a grant on every tenant (*).';

export function RejectedView() {
  const grants = useGrants();
  if (!readsEveryTenant(grants)) {
    return <NoAccessState what="rejected events" why={`${WHY} Your account has: ${describeGrants(grants)}.`} />;
  }
  return <RejectedEvents />;
}

function RejectedEvents() {
  const ids = useId();
  const [search, setSearch] = useState('');
  const { state, reload, loadedAt } = useResource((signal) => api.rejected({ signal }).then((r) => r.rejected), []);

  if (state.status === 'loading') return <LoadingState what="rejected events" />;
  if (state.status === 'error') {
    if (isForbidden(state.error)) return <NoAccessState what="rejected events" why={WHY} error={state.error} />;
    return <ErrorState what="rejected events (GET /api/v1/rejected)" error={state.error} onRetry={reload} />;
  }

  const rows = state.data;
  const needle = search.trim().toLowerCase();
  const shown = needle
    ? rows.filter((r) => r.reason.toLowerCase().includes(needle) || r.event_id.toLowerCase().includes(needle) || String(r.region) === needle)
    : rows;
  const reasons = new Map<string, number>();
  for (const r of rows) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);

  return (
    <div className="view">
      {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
      <Card
        title="Rejected events"
        actions={
          <Button variant="outline" size="sm" onClick={reload}>
            Refresh
          </Button>
        }
      >
        {rows.length === 0 ? (
          <EmptyState title="No rejected events">
            Events the master refused (a bad signature, a broken chain, a malformed summary) are
            listed here with the reason. It has refused none: every summary the regions sent was
            taken.
          </EmptyState>
        ) : (
          <>
            <div className="toolbar">
              <Field id={`${ids}-search`} label="Search" hint="By reason, event id or region">
                <Input id={`${ids}-search`} type="search" value={search} onChange={(e) => setSearch(e.target.value)} autoComplete="off" />
              </Field>
              <p className="muted small">
                {rows.length} rejected, {reasons.size} distinct reason{reasons.size === 1 ? '' : 's'}
                {rows.length >= 1000 && ' (the newest 1,000 are shown)'}
              </p>
            </div>
            {shown.length === 0 ? (
              <EmptyState title="Nothing matches" action={<Button variant="outline" onClick={() => setSearch('')}>Clear the search</Button>}>
                None of the {rows.length} rejected events matches “{search.trim()}”.
              </EmptyState>
            ) : (
              <RejectedTable rows={shown} caption="Events the master refused, newest first" />
            )}
          </>
        )}
      </Card>
    </div>
  );
}
