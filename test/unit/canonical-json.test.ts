import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/hashing/index.js';

// The `canonicalize` package (RFC 8785's reference-style implementation) is the oracle: stored
// hash chains were computed with it, so the faster writer must agree with it on every JSON value.
// (Seeded globally: test/support/fast-check-setup.ts.)

describe('canonicalJson', () => {
  it('writes exactly what the canonicalize package writes, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: 'grapheme' }), (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('agrees on keys and strings that need escaping or sort by UTF-16 code units', () => {
    const value = {
      '\u0000': 1,
      é: 2,
      '\ud83d\ude00': 3,
      '\uffff': 4,
      '10': 5,
      '2': 6,
      B: 7,
      a: ['"quoted"\\', '\n\t\u001f', 1e21, 1e-7, -0, 0.1 + 0.2, undefined],
      skipped: undefined,
    };
    expect(canonicalJson(value)).toBe(canonicalize(value));
  });

  it('refuses what has no canonical JSON, with a TypeError', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow(TypeError);
    expect(() => canonicalJson({ s: 'broken \ud800 pair' })).toThrow(TypeError);
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson(10n)).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(TypeError);
  });
});
