// Stock: on-hand quantities per branch and SKU across the regions.

import { useId, useMemo, useState, type FormEvent } from 'react';
import { api } from '../api';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { OnHand } from '../components/OnHand';
import { EmptyState, ErrorState, LoadingState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { useResource } from '../lib/useResource';
import { firstTenant, TenantField, useTenants } from './TenantField';

export function StockView() {
  const ids = useId();
  const tenants = useTenants();
  const [tenantInput, setTenantInput] = useState(() => firstTenant(tenants));
  const [tenant, setTenant] = useState(() => firstTenant(tenants));
  const [search, setSearch] = useState('');
  const { state, reload, loadedAt } = useResource((signal) => api.stock(tenant || undefined, { signal }).then((r) => r.stock), [tenant]);

  const rows = state.data;
  const needle = search.trim().toLowerCase();
  const shown = useMemo(
    () =>
      (rows ?? [])
        .filter((r) => !needle || r.sku.toLowerCase().includes(needle))
        .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.branch.localeCompare(b.branch) || a.sku.localeCompare(b.sku)),
    [rows, needle],
  );
  const manyTenants = new Set((rows ?? []).map((r) => r.tenant)).size > 1 || !tenant;

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setTenant(tenantInput.trim());
  };

  return (
    <div className="view">
      <Card title="Filters">
        <form className="filters" onSubmit={apply} aria-label="Stock filters">
          <TenantField id={`${ids}-tenant`} tenants={tenants} value={tenantInput} onChange={setTenantInput} hint="Blank for every tenant; press Apply" />
          <div className="filters-submit">
            <Button type="submit">Apply</Button>
          </div>
          <Field id={`${ids}-search`} label="Search by SKU" hint="Filters the rows below as you type">
            <Input id={`${ids}-search`} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="COFFEE" autoComplete="off" />
          </Field>
        </form>
      </Card>

      {state.status === 'loading' && <LoadingState what="stock" />}
      {state.status === 'error' && <ErrorState what="stock (GET /api/v1/stock)" error={state.error} onRetry={reload} />}
      {rows && (
        <Card title={`Stock${tenant ? ` of ${tenant}` : ''}`} actions={<span className="muted small">{shown.length} of {rows.length} rows</span>}>
          {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
          {rows.length === 0 ? (
            <EmptyState title="No stock levels">
              Stock per branch and SKU appears here once stores' inventory events (received, sold,
              transferred, adjusted) have been summarised up to this master. There are none
              {tenant ? ` for tenant “${tenant}”` : ''} yet.
            </EmptyState>
          ) : shown.length === 0 ? (
            <EmptyState title="No SKU matches" action={<Button variant="outline" onClick={() => setSearch('')}>Clear the search</Button>}>
              None of the {rows.length} stock rows has a SKU containing “{search.trim()}”.
            </EmptyState>
          ) : (
            <Table caption={`Stock on hand per branch and SKU${tenant ? `, tenant ${tenant}` : ''}`}>
              <thead>
                <tr>
                  {manyTenants && <Th>Tenant</Th>}
                  <Th>Branch</Th>
                  <Th>SKU</Th>
                  <Th numeric>On hand</Th>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <tr key={`${r.tenant}/${r.branch}/${r.sku}`}>
                    {manyTenants && <Td>{r.tenant}</Td>}
                    <Td>{r.branch}</Td>
                    <Td className="mono">{r.sku}</Td>
                    <Td numeric>
                      <OnHand units={r.on_hand} />
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
