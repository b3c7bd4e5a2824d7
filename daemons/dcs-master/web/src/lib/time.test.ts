import { describe, expect, it } from 'vitest';
import { formatRelative, fromLocalInput, hourOf, toLocalInput } from './time';

const now = 1_733_300_000_000;

describe('relative time', () => {
  it('counts seconds, minutes, hours and days back', () => {
    expect(formatRelative(now, now)).toBe('just now');
    expect(formatRelative(now - 999, now)).toBe('just now');
    expect(formatRelative(now - 1000, now)).toBe('1 s ago');
    expect(formatRelative(now - 12_400, now)).toBe('12 s ago');
    expect(formatRelative(now - 59_999, now)).toBe('59 s ago');
    expect(formatRelative(now - 60_000, now)).toBe('1 min ago');
    expect(formatRelative(now - 59 * 60_000, now)).toBe('59 min ago');
    expect(formatRelative(now - 3_600_000, now)).toBe('1 h ago');
    expect(formatRelative(now - 23.9 * 3_600_000, now)).toBe('23 h ago');
    expect(formatRelative(now - 3 * 86_400_000, now)).toBe('3 d ago');
  });
  it('says never for a missing time and handles a clock ahead', () => {
    expect(formatRelative(null, now)).toBe('never');
    expect(formatRelative(now + 4000, now)).toBe('in 4 s');
  });
});

describe('hours', () => {
  it('is Unix ms / 3,600,000, rounded down', () => {
    expect(hourOf(481_472 * 3_600_000)).toBe(481_472);
    expect(hourOf(481_472 * 3_600_000 + 3_599_999)).toBe(481_472);
  });
  it('round-trips a datetime-local value', () => {
    const ms = new Date(2024, 11, 4, 8, 30).getTime();
    expect(toLocalInput(ms)).toBe('2024-12-04T08:30');
    expect(fromLocalInput('2024-12-04T08:30')).toBe(ms);
    expect(fromLocalInput('')).toBeNull();
    expect(fromLocalInput('garbage')).toBeNull();
  });
});
