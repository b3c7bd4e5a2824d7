import { describe, expect, it } from 'vitest';
import { skuError } from './sku';

describe('SKU rule', () => {
  it('takes 1 to 64 printable ASCII characters without spaces', () => {
    expect(skuError('COFFEE-250G')).toBeNull();
    expect(skuError('x'.repeat(64))).toBeNull();
    expect(skuError('')).toBe('Enter a SKU');
    expect(skuError('x'.repeat(65))).toMatch(/at most 64/);
    expect(skuError('has space')).toBe('A SKU has no spaces');
    expect(skuError('café')).toMatch(/Character 4/);
  });
});
