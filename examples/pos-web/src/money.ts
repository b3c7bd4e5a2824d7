// Money as bigint minor units (never floats): formatting, parsing what a cashier types, change.

/** Minor-unit digits of the currencies a store is likely to use (ISO 4217); 2 otherwise. */
const EXPONENTS: Record<string, number> = { JPY: 0, KRW: 0, ISK: 0, CLP: 0, VND: 0, BHD: 3, KWD: 3, OMR: 3, TND: 3 };

export function exponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

/** `1234n, 'USD'` → `"12.34 USD"`; negatives keep their sign: `"-0.05 USD"`. */
export function format(minor: bigint, currency: string): string {
  const e = exponent(currency);
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  if (e === 0) return `${sign}${abs} ${currency}`;
  const unit = 10n ** BigInt(e);
  const frac = (abs % unit).toString().padStart(e, '0');
  return `${sign}${abs / unit}.${frac} ${currency}`;
}

/** What a cashier typed (`"20"`, `"20.5"`, `"20.50"`) → minor units; throws on anything else. */
export function parse(text: string, currency: string): bigint {
  const e = exponent(currency);
  const m = /^\s*(\d{1,12})(?:[.,](\d*))?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not an amount`);
  const frac = m[2] ?? '';
  if (frac.length > e) throw new Error(`"${text}" has more than ${e} decimals`);
  return BigInt(m[1]) * 10n ** BigInt(e) + BigInt(frac.padEnd(e, '0') || '0');
}

/** The change for cash `tendered` against `total`; throws when the cash does not cover it. */
export function change(tendered: bigint, total: bigint, currency: string): bigint {
  if (tendered < total) throw new Error(`${format(tendered, currency)} does not cover ${format(total, currency)}`);
  return tendered - total;
}
