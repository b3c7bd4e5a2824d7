import { fireEvent, render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentKeyRow } from '../api/types';
import { ToastProvider } from '../components/ui/toast';
import { json, stubFetch } from '../test/fetch';
import { signedInAs } from '../test/session';
import { KeysView, reasonError, shortKey } from './KeysView';

const trusted: AgentKeyRow = {
  agent: 'pos-1',
  algorithm: 'ed25519',
  public_key: 'A'.repeat(44),
  rotations: 1,
  revoked: null,
  previous: { algorithm: 'ed25519', public_key: 'C'.repeat(44), until_ms: 1_795_500_000_000 },
};
const revoked: AgentKeyRow = {
  agent: 'pos-2',
  algorithm: 'ed25519',
  public_key: 'B'.repeat(44),
  rotations: 0,
  revoked: { from_ms: 1_795_600_000_000, reason: 'stolen till' },
  enrolled: { branch: 's1', algorithm: 'ed25519', public_key: 'D'.repeat(44), store_replica: 1001 },
};
const storeOnly: AgentKeyRow = {
  agent: 's2-till-1',
  algorithm: null,
  public_key: null,
  rotations: 0,
  revoked: null,
  enrolled: { branch: 's2', algorithm: 'ecdsa-p256', public_key: 'E'.repeat(44), store_replica: 1002 },
};

function view() {
  return render(
    <ToastProvider>
      <KeysView />
    </ToastProvider>,
  );
}

describe('Keys view', () => {
  beforeEach(() => {
    signedInAs([{ tenant: 'acme', role: 'admin' }]);
  });

  it("lists a tenant's agents with their key, rotations and revocation", async () => {
    stubFetch({ '/api/v1/keys': () => json(200, { tenant: 'acme', keys: [trusted, revoked, storeOnly] }) });
    view();
    const rows = await screen.findAllByTestId('key-row');
    expect(rows).toHaveLength(3);
    const first = within(rows[0]!).getAllByRole('cell').map((c) => c.textContent);
    expect(first.slice(0, 3)).toEqual(['pos-1', 'ed25519', `${'A'.repeat(12)}…`]);
    expect(first[3]).toMatch(new RegExp(`^1previous key ${'C'.repeat(12)}… for events before `));
    expect(first[4]).toBe('—');
    expect(first[5]).toBe('✓Trusted');
    const second = within(rows[1]!).getAllByRole('cell').map((c) => c.textContent);
    expect(second[5]).toMatch(/Revoked from .*: stolen till/);
    // The store reports another key than the registry's: shown as a warning.
    expect(second[4]).toBe(`s1!Store reports key ${'D'.repeat(12)}…`);
    // A terminal only its store enrolled: the store's key, marked as such, and revocable.
    const third = within(rows[2]!).getAllByRole('cell').map((c) => c.textContent);
    expect(third.slice(0, 3)).toEqual(['s2-till-1', 'ecdsa-p256', `${'E'.repeat(12)}…as its store reports it`]);
    expect(third[4]).toBe('s2');
    expect(within(rows[2]!).getByRole('button', { name: 'Revoke s2-till-1' })).toBeTruthy();
    // Only a trusted agent can be revoked.
    expect(within(rows[0]!).getByRole('button', { name: 'Revoke pos-1' })).toBeTruthy();
    expect(within(rows[1]!).queryByRole('button')).toBeNull();
  });

  it('revokes with a reason, then shows the registry again', async () => {
    const calls: string[] = [];
    let keys = [trusted];
    stubFetch({
      '/api/v1/keys': () => json(200, { tenant: 'acme', keys }),
      '/api/v1/keys/acme/pos-1/revoke': (_url, init) => {
        calls.push(String(init.body));
        keys = [{ ...trusted, revoked: { from_ms: 1_795_600_000_000, reason: 'lost' } }];
        return json(200, { agent: 'pos-1', position: 7, reason: 'lost', from_ms: 1_795_600_000_000 });
      },
    });
    view();
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke pos-1' }));
    const dialog = await screen.findByRole('dialog');
    // No reason: refused on the page, nothing sent.
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke' }));
    expect((await within(dialog).findByRole('alert')).textContent).toMatch(/Say why/);
    expect(calls).toEqual([]);
    fireEvent.change(within(dialog).getByLabelText('Reason'), { target: { value: ' lost ' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke' }));
    expect((await screen.findByText(/Revoked from .*: lost/)).textContent).toBeTruthy();
    expect(calls).toEqual([JSON.stringify({ reason: 'lost' })]);
  });

  it('offers no revocation to a viewer and shows a 403 as no access', async () => {
    signedInAs([{ tenant: 'acme', role: 'viewer' }]);
    stubFetch({ '/api/v1/keys': () => json(200, { tenant: 'acme', keys: [trusted] }) });
    const { unmount } = view();
    await screen.findAllByTestId('key-row');
    expect(screen.queryByRole('button', { name: /Revoke/ })).toBeNull();
    unmount();
    stubFetch({ '/api/v1/keys': () => json(403, { error: 'no grant on tenant acme' }) });
    view();
    expect((await screen.findByText(/Reading them needs a grant on the tenant/)).textContent).toBeTruthy();
  });

  it('checks a reason as the master does', () => {
    expect(reasonError('  ')).toMatch(/Say why/);
    expect(reasonError('x'.repeat(201))).toMatch(/At most 200 bytes/);
    expect(reasonError('é'.repeat(100))).toBeNull();
    expect(reasonError('é'.repeat(101))).toMatch(/this is 202/);
    expect(shortKey(null)).toBe('—');
  });
});
