import { describe, expect, it } from 'vitest';
import type { Grant } from '../api/types';
import { changesShared, describeGrants, readableTenants, readsEveryTenant } from './access';

const g = (tenant: string, role: Grant['role']): Grant => ({ tenant, role });

describe('grants', () => {
  it('span every tenant only with a grant on *', () => {
    expect(readsEveryTenant([g('*', 'viewer')])).toBe(true);
    expect(readsEveryTenant([g('acme', 'admin')])).toBe(false);
  });

  it('change the shared prices only with operator or admin on *', () => {
    expect(changesShared([g('*', 'operator')])).toBe(true);
    expect(changesShared([g('*', 'admin')])).toBe(true);
    expect(changesShared([g('*', 'viewer'), g('acme', 'admin')])).toBe(false);
  });

  it('read the granted tenants, sorted once each, or every tenant', () => {
    expect(readableTenants([g('b', 'viewer'), g('a', 'admin'), g('b', 'operator')])).toEqual(['a', 'b']);
    expect(readableTenants([g('a', 'viewer'), g('*', 'viewer')])).toBeNull();
  });

  it('are described for the header', () => {
    expect(describeGrants([g('*', 'operator')])).toBe('operator on every tenant');
    expect(describeGrants([g('acme', 'viewer'), g('globex', 'operator')])).toBe('viewer on acme · operator on globex');
    expect(describeGrants([])).toBe('no grants');
  });
});
