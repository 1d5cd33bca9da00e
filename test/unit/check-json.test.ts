import { describe, expect, it } from 'vitest';
import { findJsonProblem } from '../../src/events/index.js';

describe('findJsonProblem', () => {
  it('accepts plain JSON, including null-prototype objects and astral characters', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(findJsonProblem({ a: [1, 'x', null, true, { b: '😀𝄞' }], bare }, 32)).toBeUndefined();
  });

  it.each([
    [{ n: Number.NaN }, 'data.n is NaN'],
    [{ n: [1, Number.POSITIVE_INFINITY] }, 'data.n[1] is Infinity'],
    [{ u: undefined }, 'data.u is undefined'],
    [{ f: () => 1 }, 'data.f is function'],
    [{ b: 1n }, 'data.b is bigint'],
    [{ d: new Date(0) }, 'data.d is a Date'],
    [{ m: new Map() }, 'data.m is a Map'],
    [{ s: 'a\u0000' }, 'data.s contains \\u0000'],
    [{ 'k\u0000': 1 }, 'contains \\u0000'],
    [{ s: '\udc00x' }, 'unpaired surrogate'],
    [{ s: 'x\ud800' }, 'unpaired surrogate'],
  ])('names the path and the problem in %o', (value, message) => {
    expect(findJsonProblem(value, 32)).toContain(message);
  });

  it('stops at the depth limit without walking further', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1_000_000; i += 1) deep = [deep];
    expect(findJsonProblem({ deep }, 32)).toMatch(/nested deeper than 32 levels/);
    expect(findJsonProblem({ a: { b: 1 } }, 2)).toBeUndefined();
    expect(findJsonProblem({ a: { b: {} } }, 2)).toMatch(/data\.a\.b is nested deeper/);
  });
});
