// Unit tests of the till's pure modules (no browser, no daemon).
import { describe, expect, test } from 'vitest';
import { Code, ConnectError } from '@connectrpc/connect';
import { change, format, parse } from '../src/money.js';
import { checkRefund, mulRatioHalfUp, refundAmounts, refundable } from '../src/refund.js';
import { businessDay, daySummary } from '../src/summary.js';
import { changedProducts, changedStock } from '../src/diff.js';
import { classify } from '../src/errors.js';
import { fromFragment } from '../src/fragment.js';
import { onShelf } from '../src/stock.js';

describe('money', () => {
  test('formats minor units exactly', () => {
    expect(format(1234n, 'USD')).toBe('12.34 USD');
    expect(format(-5n, 'USD')).toBe('-0.05 USD');
    expect(format(500n, 'JPY')).toBe('500 JPY');
    expect(format(1234n, 'KWD')).toBe('1.234 KWD');
  });
  test('parses what a cashier types', () => {
    expect(parse('20', 'USD')).toBe(2000n);
    expect(parse('20.5', 'USD')).toBe(2050n);
    expect(parse(' 0,99 ', 'USD')).toBe(99n);
    for (const bad of ['', '-1', '1.234', 'abc', '1e3']) expect(() => parse(bad, 'USD')).toThrow();
  });
  test('change', () => {
    expect(change(2000n, 1434n, 'USD')).toBe(566n);
    expect(() => change(1000n, 1434n, 'USD')).toThrow(/does not cover/);
  });
});

const lines = [
  { sku: 'MUG', name: 'Mug', quantity: 3, gross: 1001n, tax: 101n },
  { sku: 'TEA', name: 'Tea', quantity: 1, gross: 500n, tax: 50n },
];

describe('refunds', () => {
  test('half-up ratio', () => {
    expect(mulRatioHalfUp(1001n, 1, 3)).toBe(334n); // 333.67
    expect(mulRatioHalfUp(1000n, 1, 8)).toBe(125n);
    expect(mulRatioHalfUp(5n, 1, 2)).toBe(3n); // 2.5 → 3
  });
  test('shares by units add up to the line, whatever the order', () => {
    const one = refundAmounts(lines, {}, [['MUG', 1]]);
    const two = refundAmounts(lines, { MUG: 1 }, [['MUG', 2]]);
    expect(one.total + two.total).toBe(1001n);
    expect(one.tax + two.tax).toBe(101n);
    expect(one.net).toBe(one.total - one.tax);
  });
  test('never more than is left', () => {
    expect(refundable(lines, { MUG: 2 })).toEqual({ MUG: 1, TEA: 1 });
    expect(checkRefund(lines, {}, { MUG: 2, TEA: 0 })).toEqual([['MUG', 2]]);
    expect(() => checkRefund(lines, { MUG: 2 }, { MUG: 2 })).toThrow(/only 1 left/);
    expect(() => checkRefund(lines, {}, { MUG: 0 })).toThrow(/at least one/);
    expect(() => checkRefund(lines, {}, { MUG: -1 })).toThrow(/whole number/);
    expect(() => checkRefund(lines, {}, { CAKE: 1 })).toThrow(/not on this receipt/);
  });
});

describe('day summary', () => {
  test('business day at the store offset', () => {
    expect(businessDay(Date.UTC(2026, 0, 1, 23, 30), 0)).toBe('2026-01-01');
    expect(businessDay(Date.UTC(2026, 0, 1, 23, 30), 60)).toBe('2026-01-02');
  });
  test('refunds count on their own day and come off net and tax', () => {
    const at = Date.UTC(2026, 0, 1, 12);
    const t = daySummary([
      { id: 'R1', kind: 'sale', at, net: 1000n, tax: 100n, total: 1100n },
      { id: 'R2', kind: 'sale', at, net: 500n, tax: 50n, total: 550n },
      { id: 'F1', kind: 'refund', at, net: 500n, tax: 50n, total: 550n },
      { id: 'R0', kind: 'sale', at: at - 86_400_000, net: 1n, tax: 0n, total: 1n },
    ], '2026-01-01', 0);
    expect(t).toEqual({ day: '2026-01-01', salesCount: 2, refundCount: 1, gross: 1650n, refunds: 550n, net: 1000n, tax: 100n });
  });
});

describe('merged updates', () => {
  const p = (sku: string, price: bigint) => ({ sku, name: sku, category: 'c', price, taxCategory: 't' });
  test('counts added, removed and changed entries', () => {
    expect(changedProducts([p('A', 1n), p('B', 2n)], [p('A', 1n), p('B', 3n), p('C', 1n)])).toBe(2);
    expect(changedProducts([p('A', 1n)], [])).toBe(1);
    expect(changedStock({ A: 1n, B: 2n }, { A: 1n, B: 1n, C: 0n })).toBe(2);
  });
});

describe('errors', () => {
  test('unreachable, refused for good, or a refused till', () => {
    expect(classify(new ConnectError('fetch failed', Code.Unknown))).toBe('offline');
    expect(classify(new ConnectError('x', Code.Unavailable))).toBe('offline');
    expect(classify(new ConnectError('x', Code.DeadlineExceeded))).toBe('offline');
    expect(classify(new ConnectError('events[0]: bad signature', Code.Unauthenticated))).toBe('auth');
    expect(classify(new ConnectError('unknown terminal token', Code.PermissionDenied))).toBe('auth');
    expect(classify(new ConnectError('events[0]: more than was sold', Code.FailedPrecondition))).toBe('refused');
    expect(classify(new ConnectError('x', Code.InvalidArgument))).toBe('refused');
    expect(classify(new TypeError('Failed to fetch'))).toBe('offline');
  });
  test('enrollment code from the fragment', () => {
    expect(fromFragment('#enroll=abc_-1')).toBe('abc_-1');
    expect(fromFragment('#x=1&enroll=abc')).toBe('abc');
    expect(fromFragment('')).toBeUndefined();
  });
});

describe('stock on the shelf', () => {
  const rec = (status: 'queued' | 'quarantined', moves?: Record<string, number>) =>
    ({ key: 'k', kind: 'sale' as const, stream: 's', sealed: [], eventIds: [], at: 0, status, moves });
  test('queued sales come off the store\'s figures; quarantined ones and other records do not', () => {
    const shown = onShelf({ MUG: 24n, TEA: 3n }, [
      rec('queued', { MUG: 2, COFFEE: 1 }),
      rec('queued', { MUG: 1 }),
      rec('quarantined', { TEA: 3 }),
      rec('queued'),
    ]);
    expect(shown).toEqual({ MUG: 21n, TEA: 3n, COFFEE: -1n });
  });
});
