// Keys: a tenant's key registry (each terminal's and cashier's public key, its rotations and
// revocation), as the master sends it down to every region and store, the terminals each store
// enrolled itself (as the store reported them), and the revocation of an agent by a tenant's
// admin.

import { useId, useState, type FormEvent } from 'react';
import { api } from '../api';
import type { AgentKeyRow } from '../api/types';
import { Badge } from '../components/ui/badge';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { ConfirmActions, Dialog, DialogContent } from '../components/ui/dialog';
import { describedBy, Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { describeError, EmptyState, ErrorState, isForbidden, LoadingState, NoAccessState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { useToast } from '../components/ui/toast';
import { administers } from '../lib/access';
import { formatAbsolute } from '../lib/time';
import { useResource } from '../lib/useResource';
import { useGrants } from '../lib/useSession';
import { firstTenant, TenantField, useTenants } from './TenantField';

/** The largest reason the master takes, in UTF-8 bytes. */
const REASON_MAX_BYTES = 200;

/** What is wrong with a revocation reason, or null. */
export function reasonError(reason: string): string | null {
  const bytes = new TextEncoder().encode(reason.trim()).length;
  if (bytes === 0) return 'Say why: the reason goes to every store that refuses this agent.';
  if (bytes > REASON_MAX_BYTES) return `At most ${REASON_MAX_BYTES} bytes (this is ${bytes}).`;
  return null;
}

/** A public key shortened for a table: its first 12 base64 characters. */
export function shortKey(key: string | null): string {
  if (key === null) return '—';
  return key.length > 12 ? `${key.slice(0, 12)}…` : key;
}

function Status({ row }: { row: AgentKeyRow }) {
  if (row.revoked) {
    return (
      <Badge tone="bad" icon="✕">
        Revoked from {formatAbsolute(row.revoked.from_ms)}: {row.revoked.reason}
      </Badge>
    );
  }
  return (
    <Badge tone="ok" icon="✓">
      Trusted
    </Badge>
  );
}

/** Where a store enrolled the agent, and a warning when its key is not the registry's. */
function Enrolled({ row }: { row: AgentKeyRow }) {
  const e = row.enrolled;
  if (!e) return <span className="muted">—</span>;
  const differs = row.public_key !== null && row.public_key !== e.public_key;
  return (
    <>
      <span className="mono">{e.branch}</span>
      {differs && (
        <span className="block">
          <Badge tone="warn" icon="!">
            Store reports key {shortKey(e.public_key)}
          </Badge>
        </span>
      )}
    </>
  );
}

export function KeysView() {
  const ids = useId();
  const grants = useGrants();
  const notify = useToast();
  const tenants = useTenants();
  const [tenantInput, setTenantInput] = useState(() => firstTenant(tenants));
  const [tenant, setTenant] = useState(() => firstTenant(tenants));
  const [revoking, setRevoking] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [reasonErr, setReasonErr] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveErr, setSaveErr] = useState<string | null>(null);
  const { state, reload, loadedAt } = useResource(
    (signal) => (tenant ? api.keys(tenant, { signal }).then((r) => r.keys) : Promise.resolve(null)),
    [tenant],
  );
  const canRevoke = tenant !== '' && administers(grants, tenant);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setTenant(tenantInput.trim());
  };

  const startRevoke = (agent: string) => {
    setRevoking(agent);
    setReason('');
    setReasonErr(null);
    setSaveErr(null);
  };

  const revoke = async (e: FormEvent) => {
    e.preventDefault();
    if (revoking === null) return;
    const err = reasonError(reason);
    setReasonErr(err);
    if (err) return;
    setSaving(true);
    setSaveErr(null);
    try {
      await api.revokeKey(tenant, revoking, reason.trim());
      notify({ tone: 'success', title: `${revoking} revoked`, description: 'Every region and store refuses its events from now on.' });
      setRevoking(null);
      reload();
    } catch (error) {
      const m = isForbidden(error)
        ? `Not allowed: revoking needs admin on ${tenant}. The master said: ${(error as Error).message}`
        : `Revoking failed. ${describeError(error as Error)}`;
      setSaveErr(m);
    } finally {
      setSaving(false);
    }
  };

  const rows = state.data;
  return (
    <div className="view">
      <Card title="Tenant">
        <form className="filters" onSubmit={apply} aria-label="Key registry tenant">
          <TenantField id={`${ids}-tenant`} tenants={tenants} value={tenantInput} onChange={setTenantInput} hint="The registry is per tenant; press Show" />
          <div className="filters-submit">
            <Button type="submit">Show</Button>
          </div>
        </form>
      </Card>

      {!tenant && (
        <EmptyState title="Name a tenant">Each tenant has its own key registry: type its name above and press Show.</EmptyState>
      )}
      {tenant && state.status === 'loading' && <LoadingState what="the key registry" />}
      {tenant && state.status === 'error' &&
        (isForbidden(state.error) ? (
          <NoAccessState what={`the keys of ${tenant}`} why="Reading them needs a grant on the tenant." error={state.error} />
        ) : (
          <ErrorState what="the key registry (GET /api/v1/keys)" error={state.error} onRetry={reload} />
        ))}
      {tenant && rows && (
        <Card title={`Keys of ${tenant}`} actions={<span className="muted small">{rows.length} agents</span>}>
          {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
          {rows.length === 0 ? (
            <EmptyState title="No registered keys">
              No agent of {tenant} has a key in the central registry yet, and no store has reported a terminal: register one with PUT
              /api/v1/keys/{tenant}/AGENT. A store reports the terminals its terminals.toml lists once it has synced.
            </EmptyState>
          ) : (
            <Table caption={`Key registry of tenant ${tenant}`}>
              <thead>
                <tr>
                  <Th>Agent</Th>
                  <Th>Algorithm</Th>
                  <Th>Public key</Th>
                  <Th numeric>Rotations</Th>
                  <Th>Enrolled at</Th>
                  <Th>Status</Th>
                  {canRevoke && <Th>Action</Th>}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.agent} data-testid="key-row">
                    <Td className="mono nowrap">{r.agent}</Td>
                    <Td>{r.algorithm ?? r.enrolled?.algorithm ?? '—'}</Td>
                    <Td className="mono" title={r.public_key ?? r.enrolled?.public_key ?? undefined}>
                      {shortKey(r.public_key ?? r.enrolled?.public_key ?? null)}
                      {r.public_key === null && r.enrolled && <span className="muted small block">as its store reports it</span>}
                    </Td>
                    <Td numeric>
                      {r.rotations}
                      {r.previous && (
                        <span className="muted small block">
                          previous key {shortKey(r.previous.public_key)} for events before {formatAbsolute(r.previous.until_ms)}
                        </span>
                      )}
                    </Td>
                    <Td>
                      <Enrolled row={r} />
                    </Td>
                    <Td>
                      <Status row={r} />
                    </Td>
                    {canRevoke && (
                      <Td>
                        {!r.revoked && (
                          <Button variant="outline" onClick={() => startRevoke(r.agent)}>
                            Revoke {r.agent}
                          </Button>
                        )}
                      </Td>
                    )}
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
      )}

      <Dialog open={revoking !== null} onOpenChange={(open) => !open && !saving && setRevoking(null)}>
        {revoking !== null && (
          <DialogContent
            title={`Revoke ${revoking}?`}
            description={`Every region and store of ${tenant} refuses this agent's events made from now on, with your reason. A revoked agent stays revoked: enroll the terminal under a new id.`}
          >
            <form onSubmit={(e) => void revoke(e)} aria-label="Revocation">
              <Field id={`${ids}-reason`} label="Reason" hint="1–200 bytes, shown where its events are refused" error={reasonErr}>
                <Input
                  id={`${ids}-reason`}
                  value={reason}
                  onChange={(e) => setReason(e.target.value)}
                  {...describedBy(`${ids}-reason`, true, reasonErr)}
                  autoComplete="off"
                />
              </Field>
              {saveErr && (
                <p role="alert" className="field-error">
                  {saveErr}
                </p>
              )}
              <ConfirmActions label="Revoke" busyLabel="Revoking…" busy={saving} submit />
            </form>
          </DialogContent>
        )}
      </Dialog>
    </div>
  );
}
