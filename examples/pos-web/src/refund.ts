// What may still be refunded of a receipt, and a refund's amounts as the engine computes them
// (dcs-core's Sale::refund_body: each line's gross and tax shared by units, half-up).

export interface SoldLine { sku: string; name: string; quantity: number; gross: bigint; tax: bigint }
export interface RefundAmounts { net: bigint; tax: bigint; total: bigint }

/** `m × num / den`, rounded half up (amounts here are never negative). */
export function mulRatioHalfUp(m: bigint, num: number, den: number): bigint {
  const n = BigInt(num), d = BigInt(den);
  return (2n * m * n + d) / (2n * d);
}

/** Units of each SKU still refundable: sold minus refunded. */
export function refundable(lines: SoldLine[], refunded: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) out[l.sku] = l.quantity - (refunded[l.sku] ?? 0);
  return out;
}

/** Checks a refund request; returns the non-zero lines or throws a message for the cashier. */
export function checkRefund(lines: SoldLine[], refunded: Record<string, number>, wanted: Record<string, number>): Array<[string, number]> {
  const left = refundable(lines, refunded);
  const out: Array<[string, number]> = [];
  for (const [sku, qty] of Object.entries(wanted)) {
    if (!Number.isInteger(qty) || qty < 0) throw new Error(`${sku}: quantity must be a whole number, 0 or more`);
    if (qty === 0) continue;
    if (!(sku in left)) throw new Error(`${sku} is not on this receipt`);
    if (qty > left[sku]) throw new Error(`${sku}: only ${left[sku]} left to refund, ${qty} asked`);
    out.push([sku, qty]);
  }
  if (out.length === 0) throw new Error('Choose at least one unit to refund');
  return out;
}

/** The net, tax and total given back for `wanted` units after `refunded` earlier units. */
export function refundAmounts(lines: SoldLine[], refunded: Record<string, number>, wanted: Array<[string, number]>): RefundAmounts {
  let tax = 0n, total = 0n;
  for (const [sku, qty] of wanted) {
    const l = lines.find((x) => x.sku === sku)!;
    const before = refunded[sku] ?? 0, after = before + qty;
    const share = (m: bigint) => mulRatioHalfUp(m, after, l.quantity) - mulRatioHalfUp(m, before, l.quantity);
    total += share(l.gross);
    tax += share(l.tax);
  }
  return { net: total - tax, tax, total };
}
