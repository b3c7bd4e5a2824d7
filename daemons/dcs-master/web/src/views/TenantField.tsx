// The tenant a per-tenant view (sales, stock) reads, offered from the operator's grants: any
// tenant or all of them with a grant on `*` (typed, blank for every tenant); the only one
// there is; or a choice among the granted ones (the master needs one named then).

import { Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { Select } from '../components/ui/select';
import { readableTenants } from '../lib/access';
import { useGrants } from '../lib/useSession';

/** The tenants the operator may read, or null for every tenant. */
export function useTenants(): string[] | null {
  return readableTenants(useGrants());
}

/** The tenant a view starts with: every tenant (''), or the first granted one. */
export function firstTenant(tenants: string[] | null): string {
  return tenants === null ? '' : (tenants[0] ?? '');
}

export function TenantField({
  id,
  tenants,
  value,
  onChange,
  hint = 'Blank for every tenant',
}: {
  id: string;
  tenants: string[] | null;
  value: string;
  onChange: (tenant: string) => void;
  hint?: string;
}) {
  if (tenants === null) {
    return (
      <Field id={id} label="Tenant" hint={hint}>
        <Input id={id} value={value} onChange={(e) => onChange(e.target.value)} placeholder="acme" autoComplete="off" />
      </Field>
    );
  }
  if (tenants.length <= 1) {
    return (
      <Field id={id} label="Tenant" hint="The one tenant your account may read">
        <Input id={id} value={tenants[0] ?? ''} readOnly aria-readonly="true" data-testid="tenant-fixed" />
      </Field>
    );
  }
  return (
    <Field id={id} label="Tenant" hint={`${tenants.length} tenants your account may read`}>
      <Select id={id} value={value || tenants[0]!} onValueChange={onChange} options={tenants.map((t) => ({ value: t, label: t }))} />
    </Field>
  );
}
