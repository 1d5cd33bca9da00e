import { describe, expect, it } from 'vitest';
import { findRewrittenJson } from '../../src/api/exact-json.js';

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
    expect(findRewrittenJson(text)).toBeDefined();
  });

  it('names the number sent and what it would become', () => {
    expect(findRewrittenJson('{"n":9007199254740993}')).toEqual({
      kind: 'number',
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
    expect(findRewrittenJson(text)).toBeUndefined();
  });

  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"x":{"b":[1,{"c":1}],"b":2}}', 'b'],
    ['[{"k":"v"},{"k":"v","k":"w"}]', 'k'],
  ])('refuses %s, where JSON.parse would drop a key', (text, key) => {
    expect(findRewrittenJson(text)).toEqual({ kind: 'duplicate_key', key });
  });

  it.each([
    '{"a":"a","b":{"a":"a"},"c":["a","a"]}',
    '[{"a":1},{"a":2}]',
    '{"a":{"x":1},"b":{"x":1}}',
    '"a"',
  ])('accepts %s, where every key of each object is its own', (text) => {
    expect(findRewrittenJson(text)).toBeUndefined();
  });
});
