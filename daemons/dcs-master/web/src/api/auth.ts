// Authentication, all in one place so that operator accounts can replace it later.
//
// For now the operator signs in with the master's admin token: it is checked by calling
// `GET /api/v1/regions` with it, kept in sessionStorage (gone when the tab closes), and sent
// as `Authorization: Bearer <token>` by the API client. A 401 from any call ends the session
// and the app returns to the sign-in screen with SESSION_ENDED.

import { ApiError, createClient } from './client';

const KEY = 'dcs-master.admin-token';

export const SESSION_ENDED = 'Your session ended: sign in again';

export interface AuthState {
  /** The token in use, or null when signed out. */
  token: string | null;
  /** Why the operator is on the sign-in screen, when not by their own choice. */
  notice: string | null;
}

let state: AuthState = { token: readStored(), notice: null };
const listeners = new Set<() => void>();

function storage(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage disabled: the session lasts as long as the page
  }
}

function readStored(): string | null {
  return storage()?.getItem(KEY) ?? null;
}

function set(next: AuthState) {
  state = next;
  const s = storage();
  if (next.token) s?.setItem(KEY, next.token);
  else s?.removeItem(KEY);
  for (const l of listeners) l();
}

export function getToken(): string | null {
  return state.token;
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
 * Checks `token` against the master and, when it is accepted, starts a session with it.
 * Throws an ApiError: 401 with a message for the sign-in form, or whatever else failed.
 */
export async function signIn(token: string, fetchImpl?: typeof fetch): Promise<void> {
  const t = token.trim();
  if (!t) throw new ApiError(400, 'Enter the admin token', '/api/v1/regions');
  const probe = createClient({ getToken: () => t, fetch: fetchImpl });
  try {
    await probe.regions();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      throw new ApiError(401, 'The master refused this token: check admin.token in its data directory', e.path);
    }
    throw e;
  }
  set({ token: t, notice: null });
}

/** The operator's own sign-out. */
export function signOut(): void {
  set({ token: null, notice: null });
}

/** Called on a 401 from any call: back to the sign-in screen, saying why. */
export function endSession(): void {
  if (state.token === null && state.notice === SESSION_ENDED) return;
  set({ token: null, notice: SESSION_ENDED });
}

/** For tests: re-reads sessionStorage. */
export function resetFromStorage(): void {
  set({ token: readStored(), notice: null });
}
