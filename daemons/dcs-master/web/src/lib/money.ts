// Money in integer minor units (cents for EUR, yen for JPY, fils for KWD). Sums are made on
// integers (BigInt where they might pass 2^53) and turned into text only at the end, through
// an exact decimal string: no floating point on the way.

const CODE = /^[A-Z]{3}$/;

/** The number of decimals of `currency` (ISO 4217): EUR 2, JPY 0, KWD 3. Throws on a bad code. */
export function currencyDigits(currency: string): number {
  if (!CODE.test(currency)) throw new RangeError(`${JSON.stringify(currency)} is not an ISO 4217 currency code`);
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Exact decimal text of `minor` minor units with `digits` decimals: (12345, 2) → "123.45". */
export function minorToDecimal(minor: bigint | number, digits: number): string {
  const v = typeof minor === 'bigint' ? minor : toBigInt(minor);
  const negative = v < 0n;
  const abs = (negative ? -v : v).toString();
  if (digits === 0) return (negative ? '-' : '') + abs;
  const padded = abs.padStart(digits + 1, '0');
  const whole = padded.slice(0, padded.length - digits);
  const frac = padded.slice(padded.length - digits);
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

function toBigInt(n: number): bigint {
  if (!Number.isInteger(n)) throw new RangeError(`${n} is not a whole number of minor units`);
  return BigInt(n);
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string, locale?: string): Intl.NumberFormat {
  const key = `${locale ?? ''}|${currency}`;
  let f = formatters.get(key);
  if (!f) {
    const digits = currencyDigits(currency);
    f = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    formatters.set(key, f);
  }
  return f;
}

/** "€123.45" for (12345, "EUR"): formats the exact decimal string, never a float sum. */
export function formatMinor(minor: bigint | number, currency: string, locale?: string): string {
  const text = minorToDecimal(minor, currencyDigits(currency));
  // Intl.NumberFormat formats a decimal string exactly (ES2023); the type says number | bigint.
  return formatter(currency, locale).format(text as unknown as number);
}

/** Major units as the operator types them in a field: "4.50" for 450 EUR, no symbol. */
export function minorToInput(minor: number, currency: string): string {
  return minorToDecimal(minor, currencyDigits(currency));
}

export type ParsedPrice = { ok: true; minor: number } | { ok: false; error: string };

/**
 * Parses a price the operator typed in major units into integer minor units, exactly:
 * "4.50" EUR → 450, "4.5" → 450, "4" → 400, "1200" JPY → 1200, "1.250" KWD → 1250.
 * Accepts "." or "," as the decimal mark and no thousands separators. Refuses blank text,
 * negative values, more decimals than the currency has, and anything that is not a number.
 */
export function parsePrice(text: string, currency: string): ParsedPrice {
  let digits: number;
  try {
    digits = currencyDigits(currency);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  const t = text.trim();
  if (!t) return { ok: false, error: 'Enter a price' };
  if (/^-/.test(t)) return { ok: false, error: 'A price cannot be negative' };
  const m = /^\+?(\d*)(?:[.,](\d*))?$/.exec(t);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
    return { ok: false, error: `Enter a number such as ${minorToDecimal(450 * 10 ** Math.max(0, digits - 2), digits)}` };
  }
  const whole = m[1] || '0';
  const frac = m[2] ?? '';
  if (frac.length > digits) {
    return {
      ok: false,
      error:
        digits === 0
          ? `${currency} has no decimals: enter a whole amount`
          : `${currency} has ${digits} decimal${digits === 1 ? '' : 's'}: "${t}" has ${frac.length}`,
    };
  }
  const minor = BigInt(whole) * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, '0') || '0');
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, error: 'That price is too large' };
  return { ok: true, minor: Number(minor) };
}

/** Currencies offered for entering a price (the master stores prices without a currency). */
export const COMMON_CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'PLN', 'JPY', 'KWD'] as const;
