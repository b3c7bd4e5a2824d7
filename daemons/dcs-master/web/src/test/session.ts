import { resetFromStorage, type Session } from '../api/auth';
import type { Grant } from '../api/types';

/** Starts each test signed in as `name` with `grants` (as a sign-in would have stored it). */
export function signedInAs(grants: Grant[] = [{ tenant: '*', role: 'operator' }], name = 'carol', token = 'tok'): Session {
  const session: Session = { token, name, grants, expires_ms: Date.now() + 3_600_000 };
  sessionStorage.setItem('dcs-master.session', JSON.stringify(session));
  resetFromStorage();
  return session;
}
