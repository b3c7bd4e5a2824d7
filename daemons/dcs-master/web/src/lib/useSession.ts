// The signed-in operator for the views (name and grants); an empty grant list when none.

import { useSyncExternalStore } from 'react';
import { getAuthState, subscribe, type Session } from '../api/auth';

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, getAuthState).session;
}

export function useGrants() {
  return useSession()?.grants ?? [];
}
