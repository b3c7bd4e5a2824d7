// What an operator's grants allow, as the master decides it (dcs-master's access.rs): a
// grant gives its role on its tenant, or on every tenant when the tenant is `*`; roles nest
// (admin ⊃ operator ⊃ viewer). The dashboard uses this only to choose what to offer: the
// master checks every call, and a 403 from it is shown as it is.

import type { Grant, Role } from '../api/types';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

function rank(role: string): number {
  return RANK[role as Role] ?? 0;
}

/** Whether `grants` give at least `role` on every tenant (a grant on `*`). */
export function onEveryTenant(grants: readonly Grant[], role: Role = 'viewer'): boolean {
  return grants.some((g) => g.tenant === '*' && rank(g.role) >= RANK[role]);
}

/** What spans tenants (summaries, rejected events) needs a grant on `*`. */
export function readsEveryTenant(grants: readonly Grant[]): boolean {
  return onEveryTenant(grants, 'viewer');
}

/** The central prices and catalog are every tenant's: changing them needs operator on `*`. */
export function changesShared(grants: readonly Grant[]): boolean {
  return onEveryTenant(grants, 'operator');
}

/** The tenants the grants let one read, sorted, or null for every tenant. */
export function readableTenants(grants: readonly Grant[]): string[] | null {
  if (grants.some((g) => g.tenant === '*')) return null;
  return [...new Set(grants.map((g) => g.tenant))].sort();
}

/** "operator on every tenant", "viewer on acme", "viewer on a · operator on b". */
export function describeGrants(grants: readonly Grant[]): string {
  if (grants.length === 0) return 'no grants';
  return grants.map((g) => `${g.role} on ${g.tenant === '*' ? 'every tenant' : g.tenant}`).join(' · ');
}

/** Whether `grants` make one an admin of `tenant` (a grant on it or on `*`): keys need it. */
export function administers(grants: readonly Grant[], tenant: string): boolean {
  return grants.some((g) => (g.tenant === '*' || g.tenant === tenant) && rank(g.role) >= RANK.admin);
}
