import { describe, expect, it } from 'vitest';
import { checkClientTime, clientTimeMicros, storedClientTime } from '../../src/events/index.js';

function accepted(value: unknown): string | null {
  const checked = checkClientTime(value);
  if (!checked.ok) throw new Error(checked.problem);
  return checked.time;
}

function refusal(value: unknown): string {
  const checked = checkClientTime(value);
  if (checked.ok) throw new Error(`accepted as ${String(checked.time)}`);
  return checked.problem;
}

describe('client times', () => {
  it.each([
    ['2026-11-23T12:00:00Z', '2026-11-23T12:00:00.000Z'],
    ['2026-11-23t12:00:00z', '2026-11-23T12:00:00.000Z'],
    ['2026-11-23T13:00:00+01:00', '2026-11-23T12:00:00.000Z'],
    ['2026-11-23T12:00:00-00:00', '2026-11-23T12:00:00.000Z'],
    ['2026-11-23T12:00:00.5Z', '2026-11-23T12:00:00.500Z'],
    ['2026-11-23T12:00:00.123456Z', '2026-11-23T12:00:00.123456Z'],
    ['2026-11-23T12:00:00.000001Z', '2026-11-23T12:00:00.000001Z'],
    ['2026-11-23T12:00:00.123456000Z', '2026-11-23T12:00:00.123456Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T23:59:59.999999+23:59', '2000-02-29T00:00:59.999999Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
    ['0001-01-01T00:30:00+00:30', '0001-01-01T00:00:00.000Z'],
  ])('stores %s as the instant %s', (sent, stored) => {
    expect(accepted(sent)).toBe(stored);
  });

  it.each([
    ['2026-02-30T00:00:00Z', /February 2026 has 28 days/],
    ['2026-02-29T00:00:00Z', /February 2026 has 28 days/],
    ['1900-02-29T00:00:00Z', /February 1900 has 28 days/],
    ['2026-04-31T00:00:00Z', /April 2026 has 30 days/],
    ['2026-13-01T00:00:00Z', /months are 01 to 12/],
    ['2026-12-31T23:59:60Z', /leap second/],
    ['2026-11-23T24:00:00Z', /not a time of day/],
    ['2026-11-23T12:00:00.1234567Z', /microseconds/],
    ['2026-11-23T12:00:00+24:00', /offset/],
    ['0000-01-01T00:00:00Z', /years 0001 to 9999/],
    ['0001-01-01T00:00:00+00:01', /years 0001 to 9999/],
    ['9999-12-31T23:59:59-00:01', /years 0001 to 9999/],
    ['2026-11-23T12:00Z', /RFC 3339/],
    ['2026-11-23 12:00:00Z', /RFC 3339/],
    ['2026-11-23T12:00:00', /RFC 3339/],
    ['2026-11-23T12:00:00.Z', /RFC 3339/],
    ['+002026-11-23T12:00:00Z', /RFC 3339/],
    ['yesterday', /RFC 3339/],
  ])('refuses %s and says why', (sent, why) => {
    expect(refusal(sent)).toMatch(why);
  });

  it('refuses what is neither a string nor a Date, and an invalid Date', () => {
    expect(refusal(1_700_000_000_000)).toMatch(/RFC 3339/);
    expect(refusal(new Date(Number.NaN))).toMatch(/invalid Date/);
    expect(refusal(new Date('+010000-01-01T00:00:00Z'))).toMatch(/0001 to 9999/);
  });

  it('stores a Date as its millisecond instant, and nothing for an absent time', () => {
    expect(accepted(new Date('2026-11-23T12:00:00.123Z'))).toBe('2026-11-23T12:00:00.123Z');
    expect(accepted(undefined)).toBeNull();
    expect(accepted(null)).toBeNull();
  });

  it('reads back PostgreSQL microseconds with three digits when the microseconds are zero', () => {
    expect(storedClientTime('2026-11-23T12:00:00.123000Z')).toBe('2026-11-23T12:00:00.123Z');
    expect(storedClientTime('2026-11-23T12:00:00.123400Z')).toBe('2026-11-23T12:00:00.123400Z');
    expect(storedClientTime(null)).toBeNull();
  });

  it('counts microseconds since 1970 without losing the last three digits', () => {
    expect(clientTimeMicros('1970-01-01T00:00:01.000001Z')).toBe(1_000_001n);
    expect(clientTimeMicros('1969-12-31T23:59:59.999999Z')).toBe(-1n);
    expect(clientTimeMicros('2026-11-23T12:00:00.500Z')).toBe(1_795_435_200_500_000n);
  });
});
