// Stores: the branches the regions reported events of (GET /api/v1/stores), each opening its
// own page at #store/<tenant>/<branch>; refreshes every 30 s.

import { useId, useMemo, useState, type FormEvent } from 'react';
import { api } from '../api';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { EmptyState, ErrorState, isForbidden, LoadingState, NoAccessState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { sortStores, storeHash } from '../lib/store';
import { When } from './FleetView';
import { useResource } from '../lib/useResource';
import { firstTenant, TenantField, useTenants } from './TenantField';

export const STORES_REFRESH_MS = 30_000;

export function StoresView({ refreshMs = STORES_REFRESH_MS }: { refreshMs?: number }) {
  const ids = useId();
  const tenants = useTenants();
  const [tenantInput, setTenantInput] = useState(() => firstTenant(tenants));
  const [tenant, setTenant] = useState(() => firstTenant(tenants));
  const [search, setSearch] = useState('');
  const { state, reload, loadedAt } = useResource(
    (signal) => api.stores(tenant || undefined, { signal }).then((r) => r.stores),
    [tenant],
    { intervalMs: refreshMs },
  );

  const rows = state.data;
  const needle = search.trim().toLowerCase();
  const shown = useMemo(
    () => sortStores(rows ?? []).filter((r) => !needle || r.branch.toLowerCase().includes(needle) || r.tenant.toLowerCase().includes(needle)),
    [rows, needle],
  );
  const manyTenants = new Set((rows ?? []).map((r) => r.tenant)).size > 1 || !tenant;
  const now = loadedAt ?? Date.now();

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setTenant(tenantInput.trim());
  };

  return (
    <div className="view">
      <Card title="Filters">
        <form className="filters" onSubmit={apply} aria-label="Store filters">
          <TenantField id={`${ids}-tenant`} tenants={tenants} value={tenantInput} onChange={setTenantInput} hint="Blank for every tenant; press Apply" />
          <div className="filters-submit">
            <Button type="submit">Apply</Button>
          </div>
          <Field id={`${ids}-search`} label="Search" hint="By branch or tenant, as you type">
            <Input id={`${ids}-search`} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="store-1" autoComplete="off" />
          </Field>
        </form>
      </Card>

      {state.status === 'loading' && <LoadingState what="the stores" />}
      {state.status === 'error' &&
        (isForbidden(state.error) ? (
          <NoAccessState what={`the stores of ${tenant || 'every tenant'}`} why="Your grants do not cover this tenant." error={state.error} />
        ) : (
          <ErrorState what="the stores (GET /api/v1/stores)" error={state.error} onRetry={reload} />
        ))}
      {rows && (
        <Card
          title={`Stores${tenant ? ` of ${tenant}` : ''}`}
          actions={
            <span className="muted small" aria-live="off">
              {shown.length} of {rows.length} · refreshes every {Math.round(refreshMs / 1000)} s
            </span>
          }
        >
          {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
          {rows.length === 0 ? (
            <EmptyState title="No stores yet">
              A store appears here once its region has summarised at least one of its events up to
              this master. None has{tenant ? ` for tenant “${tenant}”` : ''} so far.
            </EmptyState>
          ) : shown.length === 0 ? (
            <EmptyState title="No store matches" action={<Button variant="outline" onClick={() => setSearch('')}>Clear the search</Button>}>
              None of the {rows.length} stores matches “{search.trim()}”.
            </EmptyState>
          ) : (
            <Table caption={`Stores and the events their regions reported${tenant ? `, tenant ${tenant}` : ''}; open one for its sales, stock and errors`}>
              <thead>
                <tr>
                  {manyTenants && <Th>Tenant</Th>}
                  <Th>Branch</Th>
                  <Th numeric>Region</Th>
                  <Th numeric>Events</Th>
                  <Th>Last event</Th>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <tr key={`${r.tenant}/${r.branch}/${r.region}`}>
                    {manyTenants && <Td>{r.tenant}</Td>}
                    <Td>
                      <a href={`#${storeHash(r)}`} aria-label={`Open store ${r.branch} of ${r.tenant}`}>
                        {r.branch}
                      </a>
                    </Td>
                    <Td numeric>{r.region}</Td>
                    <Td numeric>{r.events.toLocaleString()}</Td>
                    <Td>
                      <When ms={r.last_event_ms} now={now} />
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
      )}
    </div>
  );
}
