// The enrollment code printed by `dcs-local till add`: taken from the URL fragment
// (fragment.ts) or pasted on the first screen, decoded by the WASM package, kept in IndexedDB.

import { parseEnrollment } from '@dcs/wasm';
import type { TillDb } from './db.js';

export interface Enrollment { code: string; agent: string; token: string; signingKey: Uint8Array; storePublicKey: Uint8Array }

export async function enroll(db: TillDb, code: string): Promise<Enrollment> {
  const e = parseEnrollment(code.trim());
  const enrollment = { code: code.trim(), agent: e.agent, token: e.token, signingKey: e.signingKey, storePublicKey: e.storePublicKey };
  await db.put('enrollment', enrollment);
  return enrollment;
}
