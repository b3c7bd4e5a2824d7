// Counts the catalog, price and stock entries that changed between two refreshes: the
// "merged updates" the sync indicator shows.

export interface Item { sku: string; name: string; category: string; price: bigint; taxCategory: string }

export function changedProducts(before: Item[], after: Item[]): number {
  const old = new Map(before.map((p) => [p.sku, p]));
  let n = 0;
  for (const p of after) {
    const o = old.get(p.sku);
    if (!o || o.name !== p.name || o.category !== p.category || o.price !== p.price || o.taxCategory !== p.taxCategory) n++;
    old.delete(p.sku);
  }
  return n + old.size;
}

export function changedStock(before: Record<string, bigint>, after: Record<string, bigint>): number {
  let n = 0;
  for (const sku of new Set([...Object.keys(before), ...Object.keys(after)])) if (before[sku] !== after[sku]) n++;
  return n;
}
