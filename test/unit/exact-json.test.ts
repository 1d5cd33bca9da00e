import { describe, expect, it } from 'vitest';
import { findInexactNumber } from '../../src/api/exact-json.js';

describe('numbers a JSON body may hold', () => {
  it.each([
    '{"n":9007199254740993}',
    '{"n":-9007199254740993}',
    '{"n":123456789012345678901234567890}',
    '{"n":1e400}',
    '{"n":-1E400}',
    '{"n":1e-400}',
    '{"n":0.10000000000000000001}',
    '[1, 2, {"a": [3, 2.00000000000000000001]}]',
  ])('refuses %s, which a double would store as another number', (text) => {
    expect(findInexactNumber(text)).toBeDefined();
  });

  it('names the number sent and what it would become', () => {
    expect(findInexactNumber('{"n":9007199254740993}')).toEqual({
      sent: '9007199254740993',
      stored: '9007199254740992',
    });
  });

  it.each([
    '{"n":9007199254740992}',
    '{"n":-9007199254740991}',
    '{"n":1.0}',
    '{"n":-0}',
    '{"n":-0.0e10}',
    '{"n":1e2}',
    '{"n":100E-2}',
    '{"n":0.1}',
    '{"n":1.7976931348623157e308}',
    '{"n":5e-324}',
    '{"n":123456789012345680000}',
    '{"s":"9007199254740993 and 1e400 inside a string", "t":"\\"1e400"}',
  ])('accepts %s, whose value a double holds', (text) => {
    expect(findInexactNumber(text)).toBeUndefined();
  });
});
