// Audit: every change made on the master (sign-ins, prices, catalog, accounts), newest
// first, and the master's verification of the whole hash chain.

import { useId, useState } from 'react';
import { api } from '../api';
import type { AuditEntry, AuditVerification, Grant } from '../api/types';
import { Badge } from '../components/ui/badge';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { EmptyState, ErrorState, isForbidden, LoadingState, NoAccessState, StaleBanner } from '../components/ui/states';
import { Table, Td, Th } from '../components/ui/table';
import { describeGrants } from '../lib/access';
import { formatAbsolute } from '../lib/time';
import { useResource } from '../lib/useResource';

export function ChainBadge({ v }: { v: AuditVerification }) {
  if (v.intact) {
    return (
      <Badge tone="ok" icon="✓">
        <span data-testid="chain-status">Chain verified: {v.entries.toLocaleString()} entries</span>
      </Badge>
    );
  }
  return (
    <Badge tone="bad" icon="✕">
      <span data-testid="chain-status">
        Chain broken at #{v.broken_at ?? '?'}: {v.reason ?? 'no reason given'}
      </span>
    </Badge>
  );
}

function isGrants(x: unknown): x is Grant[] {
  return Array.isArray(x) && x.every((g) => g && typeof g === 'object' && typeof g.tenant === 'string' && typeof g.role === 'string');
}

/** The detail's JSON as `key: value` pairs (grants as "viewer on acme"), or the text as it is. */
export function describeDetail(detail: string): string {
  try {
    const v: unknown = JSON.parse(detail);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const value = (x: unknown) => (typeof x === 'string' ? x : isGrants(x) ? describeGrants(x) : JSON.stringify(x));
      const pairs = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${value(x)}`);
      return pairs.length ? pairs.join(', ') : '—';
    }
  } catch {
    // not JSON
  }
  return detail || '—';
}

export function AuditView() {
  const ids = useId();
  const [search, setSearch] = useState('');
  const { state, reload, loadedAt } = useResource((signal) => api.audit({ signal }), []);

  if (state.status === 'loading') return <LoadingState what="the audit log" />;
  if (state.status === 'error') {
    if (isForbidden(state.error)) {
      return <NoAccessState what="the audit log" why="Reading it needs a grant on at least one tenant." error={state.error} />;
    }
    return <ErrorState what="the audit log (GET /api/v1/audit)" error={state.error} onRetry={reload} />;
  }

  const { entries, verification } = state.data;
  const needle = search.trim().toLowerCase();
  const shown: AuditEntry[] = needle
    ? entries.filter((e) => [e.actor, e.action, e.tenant, e.detail].some((f) => f.toLowerCase().includes(needle)))
    : entries;

  return (
    <div className="view">
      {state.status === 'stale' && <StaleBanner error={state.error} onRetry={reload} loadedAt={loadedAt} />}
      <div className={verification.intact ? 'chain chain-ok' : 'chain chain-bad'} role={verification.intact ? 'status' : 'alert'}>
        <ChainBadge v={verification} />
        <span className="muted small">
          {verification.intact
            ? 'Every entry’s SHA-256 hash links to the one before it, and the master checked the whole chain just now.'
            : 'An entry does not match the hash chain: the log was changed outside the master. Entries from there on cannot be trusted.'}
        </span>
      </div>
      <Card
        title="Changes, newest first"
        actions={
          <Button variant="outline" size="sm" onClick={reload}>
            Refresh
          </Button>
        }
      >
        {entries.length === 0 ? (
          <EmptyState title="Nothing audited yet">
            Sign-ins, price and catalog changes, and accounts made with the CLI are logged here
            with who made them. There are none that your grants let you see.
          </EmptyState>
        ) : (
          <>
            <div className="toolbar">
              <Field id={`${ids}-search`} label="Search" hint="By actor, action, tenant or detail">
                <Input id={`${ids}-search`} type="search" value={search} onChange={(e) => setSearch(e.target.value)} autoComplete="off" />
              </Field>
              <p className="muted small">
                {entries.length.toLocaleString()} entr{entries.length === 1 ? 'y' : 'ies'} shown
                {entries.length < verification.entries && ` of ${verification.entries.toLocaleString()} in the chain (the newest your grants cover)`}
              </p>
            </div>
            {shown.length === 0 ? (
              <EmptyState title="Nothing matches" action={<Button variant="outline" onClick={() => setSearch('')}>Clear the search</Button>}>
                None of the {entries.length} entries matches “{search.trim()}”.
              </EmptyState>
            ) : (
              <Table caption="Audit log entries, newest first">
                <thead>
                  <tr>
                    <Th numeric>#</Th>
                    <Th>When</Th>
                    <Th>Actor</Th>
                    <Th>Action</Th>
                    <Th>Tenant</Th>
                    <Th>Detail</Th>
                    <Th>Hash</Th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((e) => (
                    <tr key={e.seq} data-testid="audit-row">
                      <Td numeric>{e.seq}</Td>
                      <Td>
                        <time dateTime={new Date(e.at_ms).toISOString()}>{formatAbsolute(e.at_ms)}</time>
                      </Td>
                      <Td>{e.actor}</Td>
                      <Td className="mono">{e.action}</Td>
                      <Td className="nowrap">{e.tenant === '*' ? <span className="muted">every tenant</span> : e.tenant}</Td>
                      <Td className="mono detail">{describeDetail(e.detail)}</Td>
                      <Td className="mono">
                        <span title={e.hash}>{e.hash.slice(0, 12)}…</span>
                      </Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </>
        )}
      </Card>
    </div>
  );
}
