import { render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AuditResponse } from '../api/types';
import { json, stubFetch } from '../test/fetch';
import { signedInAs } from '../test/session';
import { AuditView } from './AuditView';

beforeEach(() => {
  signedInAs();
});

const entries: AuditResponse['entries'] = [
  { seq: 3, at_ms: 1_795_600_003_000, actor: 'carol', action: 'set_price', tenant: '*', detail: '{"price_minor":450,"sku":"COFFEE-250G"}', hash: 'ab'.repeat(32) },
  { seq: 2, at_ms: 1_795_600_002_000, actor: 'carol', action: 'login', tenant: '*', detail: '{}', hash: 'cd'.repeat(32) },
  { seq: 1, at_ms: 1_795_600_001_000, actor: 'cli', action: 'create_operator', tenant: '*', detail: '{"grants":[{"role":"operator","tenant":"*"}],"operator":"carol"}', hash: 'ef'.repeat(32) },
];

describe('Audit view', () => {
  it('lists the entries newest first and says the chain is verified', async () => {
    stubFetch({ '/api/v1/audit': () => json(200, { entries, verification: { entries: 3, intact: true, broken_at: null, reason: null } }) });
    render(<AuditView />);
    expect((await screen.findByTestId('chain-status')).textContent).toBe('Chain verified: 3 entries');
    const rows = screen.getAllByTestId('audit-row');
    expect(rows).toHaveLength(3);
    const cells = within(rows[0]!).getAllByRole('cell').map((c) => c.textContent);
    expect(cells[0]).toBe('3');
    expect(cells.slice(2, 6)).toEqual(['carol', 'set_price', 'every tenant', 'price_minor: 450, sku: COFFEE-250G']);
    expect(cells[6]).toBe(`${'ab'.repeat(6)}…`);
    expect(within(rows[2]!).getAllByRole('cell')[5]!.textContent).toBe('grants: operator on every tenant, operator: carol');
  });

  it('says where and why the chain is broken', async () => {
    stubFetch({
      '/api/v1/audit': () => json(200, { entries, verification: { entries: 3, intact: false, broken_at: 2, reason: 'the hash does not match the entry' } }),
    });
    render(<AuditView />);
    const status = await screen.findByTestId('chain-status');
    expect(status.textContent).toBe('Chain broken at #2: the hash does not match the entry');
    expect(screen.getByRole('alert').textContent).toMatch(/cannot be trusted/);
  });

  it('shows a failure to load as an error with Retry', async () => {
    stubFetch({ '/api/v1/audit': () => json(503, { error: 'the audit log: locked' }) });
    render(<AuditView />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Could not load the audit log/);
    expect(within(alert).getByRole('button', { name: 'Retry' })).toBeTruthy();
  });
});
