// The sign-in screen: the master's admin token, checked against GET /api/v1/regions.

import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { signIn } from '../api/auth';
import { Button } from '../components/ui/button';
import { describedBy, Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { describeError } from '../components/ui/states';

export function SignIn({ notice }: { notice: string | null }) {
  const id = useId();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token);
    } catch (err) {
      setError(err instanceof ApiError && (err.status === 401 || err.status === 400) ? err.message : `Could not check the token. ${describeError(err as Error)}`);
      setBusy(false);
    }
  };

  const hint = 'The admin token of this master: the admin.token file in its data directory';
  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h1 id={`${id}-title`} className="signin-title">
          DCS master
        </h1>
        <p className="muted">Sign in to the admin dashboard.</p>
        {notice && (
          <p className="banner banner-warn" role="alert">
            {notice}
          </p>
        )}
        <Field id={`${id}-token`} label="API token" hint={hint} error={error}>
          <Input
            id={`${id}-token`}
            type="password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoComplete="current-password"
            autoFocus
            required
            {...describedBy(`${id}-token`, hint, error)}
          />
        </Field>
        <Button type="submit" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </Button>
      </form>
    </main>
  );
}
