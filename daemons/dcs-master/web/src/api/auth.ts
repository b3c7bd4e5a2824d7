// The operator's session, all in one place.
//
// The operator signs in with their name and password (`POST /api/v1/login`); the master
// answers a session token, when it expires, and the operator's grants. The session is kept in
// sessionStorage (gone when the tab closes) and the token sent as `Authorization: Bearer …` by
// the API client. Sign out ends the session on the master (`POST /api/v1/logout`), then here.
// A 401 from any call, or the session's own expiry, ends it here and the app returns to the
// sign-in screen with SESSION_ENDED.

import type { Grant } from './types';
import { ApiError, createClient } from './client';

const KEY = 'dcs-master.session';

export const SESSION_ENDED = 'Your session ended: sign in again';

/** A signed-in operator. */
export interface Session {
  token: string;
  name: string;
  grants: Grant[];
  /** When the master ends the session by itself (Unix ms). */
  expires_ms: number;
}

export interface AuthState {
  /** The session in use, or null when signed out. */
  session: Session | null;
  /** Why the operator is on the sign-in screen, when not by their own choice. */
  notice: string | null;
}

const listeners = new Set<() => void>();
let expiryTimer: ReturnType<typeof setTimeout> | undefined;
let state: AuthState = initial();

function storage(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage disabled: the session lasts as long as the page
  }
}

function isSession(v: unknown): v is Session {
  if (!v || typeof v !== 'object') return false;
  const s = v as Partial<Session>;
  return typeof s.token === 'string' && typeof s.name === 'string' && Array.isArray(s.grants) && typeof s.expires_ms === 'number';
}

function readStored(): Session | null {
  const text = storage()?.getItem(KEY);
  if (!text) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isSession(v) ? v : null;
  } catch {
    return null;
  }
}

function initial(): AuthState {
  const stored = readStored();
  if (stored && stored.expires_ms <= Date.now()) {
    storage()?.removeItem(KEY);
    return { session: null, notice: SESSION_ENDED };
  }
  armExpiry(stored);
  return { session: stored, notice: null };
}

/** Ends the session when the master would (a timer longer than ~24.8 days is not armed). */
function armExpiry(session: Session | null) {
  clearTimeout(expiryTimer);
  expiryTimer = undefined;
  if (!session) return;
  const left = session.expires_ms - Date.now();
  if (left < 2 ** 31 - 1) expiryTimer = setTimeout(endSession, Math.max(0, left));
}

function set(next: AuthState) {
  state = next;
  const s = storage();
  if (next.session) s?.setItem(KEY, JSON.stringify(next.session));
  else s?.removeItem(KEY);
  armExpiry(next.session);
  for (const l of listeners) l();
}

export function getToken(): string | null {
  return state.session?.token ?? null;
}

/** For React's useSyncExternalStore. */
export function getAuthState(): AuthState {
  return state;
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Signs `name` in with `password` and starts the session. Throws an ApiError: 400 for a
 * blank field, 401 with the master's message for a wrong name or password, or whatever else
 * failed (0 when the master cannot be reached).
 */
export async function signIn(name: string, password: string, fetchImpl?: typeof fetch): Promise<Session> {
  const who = name.trim();
  if (!who) throw new ApiError(400, 'Enter your operator name', '/api/v1/login');
  if (!password) throw new ApiError(400, 'Enter your password', '/api/v1/login');
  const client = createClient({ getToken: () => null, fetch: fetchImpl });
  const r = await client.login(who, password);
  const session: Session = { token: r.token, name: r.name, grants: r.grants, expires_ms: r.expires_ms };
  set({ session, notice: null });
  return session;
}

/**
 * The operator's own sign-out: ends the session on the master (`POST /api/v1/logout`; a
 * master that cannot be reached or already ended it does not keep the operator in), then
 * here.
 */
export async function signOut(fetchImpl?: typeof fetch): Promise<void> {
  const token = getToken();
  if (token) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5000);
    try {
      await createClient({ getToken: () => token, fetch: fetchImpl }).logout({ signal: controller.signal });
    } catch {
      // the session is cleared here all the same
    } finally {
      clearTimeout(timer);
    }
  }
  set({ session: null, notice: null });
}

/** Called on a 401 from any call, and when the session expires: back to sign-in, saying why. */
export function endSession(): void {
  if (state.session === null && state.notice === SESSION_ENDED) return;
  set({ session: null, notice: SESSION_ENDED });
}

/** For tests: re-reads sessionStorage. */
export function resetFromStorage(): void {
  state = initial();
  for (const l of listeners) l();
}
