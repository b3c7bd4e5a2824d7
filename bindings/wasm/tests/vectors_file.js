// Reads the shared test-vector file (bindings/vectors/crdt_cart_v1.json) in Node; null if absent.
import { existsSync, readFileSync } from 'node:fs';

/** Where the shared vector file lives, relative to this folder. */
export const VECTORS_URL = new URL('../../vectors/crdt_cart_v1.json', import.meta.url);

/** The parsed vector file, or null when it does not exist. */
export function readVectors() {
  return existsSync(VECTORS_URL) ? JSON.parse(readFileSync(VECTORS_URL, 'utf8')) : null;
}
