// The sign-in screen: an operator's name and password (POST /api/v1/login). What went wrong
// is said under the form.

import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { signIn } from '../api/auth';
import { Button } from '../components/ui/button';
import { Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { describeError } from '../components/ui/states';

function messageOf(err: unknown): string {
  if (err instanceof ApiError && err.status === 400 && err.message.startsWith('Enter ')) return err.message;
  if (err instanceof ApiError && err.status === 401) {
    const m = err.message;
    return `Not signed in: ${m.charAt(0).toLowerCase()}${m.slice(1)}`;
  }
  return `Could not sign in. ${describeError(err as Error)}`;
}

export function SignIn({ notice }: { notice: string | null }) {
  const id = useId();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(name, password);
    } catch (err) {
      setError(messageOf(err));
      setPassword('');
      setBusy(false);
    }
  };

  const errorId = `${id}-error`;
  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} aria-labelledby={`${id}-title`} aria-describedby={error ? errorId : undefined} noValidate>
        <h1 id={`${id}-title`} className="signin-title">
          DCS master
        </h1>
        <p className="muted">Sign in to the admin dashboard with your operator account.</p>
        {notice && (
          <p className="banner banner-warn" role="alert">
            {notice}
          </p>
        )}
        <Field id={`${id}-name`} label="Operator name">
          <Input
            id={`${id}-name`}
            name="username"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            autoFocus
            required
            aria-invalid={error ? true : undefined}
          />
        </Field>
        <Field id={`${id}-password`} label="Password">
          <Input
            id={`${id}-password`}
            name="password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="current-password"
            required
            aria-invalid={error ? true : undefined}
          />
        </Field>
        <Button type="submit" disabled={busy || !name.trim() || !password}>
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
        {error && (
          <p id={errorId} className="field-error" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
        <p className="muted small">
          Accounts are made on the master with <code>dcs-master admin create-user</code>.
        </p>
      </form>
    </main>
  );
}
