import { describe, expect, it } from 'vitest';
import { currencyDigits, formatMinor, minorToDecimal, parsePrice } from './money';

describe('currency decimals', () => {
  it('follows ISO 4217', () => {
    expect(currencyDigits('EUR')).toBe(2);
    expect(currencyDigits('USD')).toBe(2);
    expect(currencyDigits('JPY')).toBe(0);
    expect(currencyDigits('KWD')).toBe(3);
  });
  it('refuses a code that is not three capitals', () => {
    expect(() => currencyDigits('eur')).toThrow(RangeError);
    expect(() => currencyDigits('EURO')).toThrow(RangeError);
  });
});

describe('minor units to text', () => {
  it('places the decimal point exactly', () => {
    expect(minorToDecimal(12345, 2)).toBe('123.45');
    expect(minorToDecimal(5, 2)).toBe('0.05');
    expect(minorToDecimal(0, 2)).toBe('0.00');
    expect(minorToDecimal(-5, 2)).toBe('-0.05');
    expect(minorToDecimal(1200, 0)).toBe('1200');
    expect(minorToDecimal(1250, 3)).toBe('1.250');
    expect(minorToDecimal(123456789012345678901n, 2)).toBe('1234567890123456789.01');
  });
  it('refuses a fraction of a minor unit', () => {
    expect(() => minorToDecimal(1.5, 2)).toThrow(RangeError);
  });
  it('formats with the currency', () => {
    expect(formatMinor(12345, 'EUR', 'en-US')).toBe('€123.45');
    expect(formatMinor(450, 'EUR', 'de-DE')).toBe('4,50\u00a0€');
    expect(formatMinor(1200, 'JPY', 'en-US')).toBe('¥1,200');
    expect(formatMinor(1250, 'KWD', 'en-US')).toMatch(/1\.250/);
    expect(formatMinor(-199, 'USD', 'en-US')).toBe('-$1.99');
  });
  it('formats sums past 2^53 without rounding', () => {
    const big = 2n ** 53n + 1n; // 9007199254740993: not a float
    expect(formatMinor(big, 'EUR', 'en-US')).toBe('€90,071,992,547,409.93');
  });
});

describe('parsing a price typed in major units', () => {
  const ok = (text: string, cur = 'EUR') => {
    const p = parsePrice(text, cur);
    if (!p.ok) throw new Error(`${text}: ${p.error}`);
    return p.minor;
  };
  const err = (text: string, cur = 'EUR') => {
    const p = parsePrice(text, cur);
    if (p.ok) throw new Error(`${text} was accepted as ${p.minor}`);
    return p.error;
  };

  it('converts to integer minor units exactly', () => {
    expect(ok('4.50')).toBe(450);
    expect(ok('4.5')).toBe(450);
    expect(ok('4')).toBe(400);
    expect(ok(' 4.50 ')).toBe(450);
    expect(ok('4,50')).toBe(450);
    expect(ok('0.10')).toBe(10);
    expect(ok('0.29')).toBe(29); // 0.29 * 100 is 28.999999999999996 in floats
    expect(ok('1.15')).toBe(115); // and 1.15 * 100 is 114.99999999999999
    expect(ok('.5')).toBe(50);
    expect(ok('0')).toBe(0);
    expect(ok('1200', 'JPY')).toBe(1200);
    expect(ok('1.250', 'KWD')).toBe(1250);
    expect(ok('90071992547409.91')).toBe(9007199254740991);
  });

  it('refuses more decimals than the currency has', () => {
    expect(err('4.505')).toBe('EUR has 2 decimals: "4.505" has 3');
    expect(err('4.5', 'JPY')).toBe('JPY has no decimals: enter a whole amount');
    expect(err('1.2345', 'KWD')).toMatch(/KWD has 3 decimals/);
  });

  it('refuses negative, blank and malformed input', () => {
    expect(err('-4.50')).toBe('A price cannot be negative');
    expect(err('-0')).toBe('A price cannot be negative');
    expect(err('')).toBe('Enter a price');
    expect(err('   ')).toBe('Enter a price');
    for (const bad of ['abc', '4.50€', '1e3', '1,000.00', '4..5', '.', '0x10', 'NaN', 'Infinity', '4 50']) {
      expect(err(bad), bad).toMatch(/Enter a number such as 4\.50/);
    }
    expect(err('90071992547409.92')).toBe('That price is too large');
    expect(err('4.50', 'euro')).toMatch(/not an ISO 4217/);
  });
});
