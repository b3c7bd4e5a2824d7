// The shared vector file: the same operations through JS must give the Rust side's bytes and totals.
export function vectorCases(vectors) {
  if (vectors === null) {
    return {
      'the shared vector file bindings/vectors/crdt_cart_v1.json exists'() {
        throw new Error('bindings/vectors/crdt_cart_v1.json is missing: the cross-language check cannot run');
      },
    };
  }
  return {};
}
