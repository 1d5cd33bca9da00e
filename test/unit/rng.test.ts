import fc from 'fast-check';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { isRngState, rngFromSeed, rngFromState } from '../../src/game/index.js';

describe('the seeded random stream', () => {
  // Pinned outputs: a change here changes every recorded session's replay.
  it('draws these numbers from the seed "agate"', () => {
    const r = rngFromSeed('agate');
    expect(Array.from({ length: 6 }, () => r.below(1000))).toEqual([287, 883, 171, 643, 433, 259]);
    expect(r.between(10, 20)).toBe(20);
    expect([r.chance(5000), r.chance(5000), r.chance(5000)]).toEqual([true, false, true]);
    expect(r.state()).toEqual({ a: -1039625239, b: 1891328129, c: -455258103, d: -2028990281 });
  });

  it('resumes exactly from a saved state, also after a JSON round trip', () => {
    const a = rngFromSeed('resume');
    a.below(7);
    const saved = JSON.parse(JSON.stringify(a.state())) as unknown;
    if (!isRngState(saved)) throw new Error('state is not an RngState');
    const b = rngFromState(saved);
    expect(Array.from({ length: 20 }, () => b.below(1_000_000))).toEqual(
      Array.from({ length: 20 }, () => a.below(1_000_000)),
    );
  });

  it('gives different streams for different seeds', () => {
    const a = rngFromSeed('1');
    const b = rngFromSeed('2');
    expect(Array.from({ length: 5 }, () => a.below(2 ** 32))).not.toEqual(
      Array.from({ length: 5 }, () => b.below(2 ** 32)),
    );
  });

  it('refuses a state of the wrong shape instead of silently starting a fresh stream', () => {
    expect(() => rngFromState({ a: 1, b: 2, c: 3 } as never)).toThrow(/32-bit integers/);
    expect(() => rngFromState({ a: 1.5, b: 2, c: 3, d: 4 })).toThrow(/32-bit integers/);
    expect(() => rngFromSeed('')).toThrow(/non-empty string seed/);
  });

  it('stays in range and is not biased towards small values', () => {
    const r = rngFromSeed('range');
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i += 1) {
      const k = r.below(3);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const c of counts) expect(c).toBeGreaterThan(9_000);
    expect(() => r.below(0)).toThrow(RangeError);
    expect(() => r.pick([])).toThrow(RangeError);
  });

  it("draws seedrandom tychei's stream, from any string seed and from any saved state", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), (seed) => {
        const reference = seedrandom.tychei(seed, { state: true });
        const ours = rngFromSeed(seed);
        const drawn = Array.from({ length: 30 }, () => ours.below(2 ** 32));
        expect(drawn).toEqual(Array.from({ length: 30 }, () => reference.int32() >>> 0));
        const saved = ours.state();
        expect(saved).toEqual(reference.state());
        const resumed = seedrandom.tychei('', { state: { ...saved } });
        const again = rngFromState(saved);
        expect(Array.from({ length: 10 }, () => again.below(2 ** 32))).toEqual(
          Array.from({ length: 10 }, () => resumed.int32() >>> 0),
        );
      }),
      { numRuns: 500 },
    );
  });
});
