// The master's rule for a SKU (dcs-core's Sku): 1 to 64 bytes of printable ASCII, no spaces.

export const SKU_MAX = 64;

/** null when `sku` is a valid SKU, else what is wrong with it. */
export function skuError(sku: string): string | null {
  if (sku.length === 0) return 'Enter a SKU';
  if (sku.length > SKU_MAX) return `A SKU is at most ${SKU_MAX} characters; this one has ${sku.length}`;
  for (let i = 0; i < sku.length; i++) {
    const c = sku.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) {
      return c === 0x20
        ? 'A SKU has no spaces'
        : `Character ${i + 1} (“${sku[i]}”) is not allowed: use letters, digits and punctuation (ASCII)`;
    }
  }
  return null;
}
