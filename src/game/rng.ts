import seedrandom from 'seedrandom';

/** The four 32-bit integers of a tychei generator: small, and covered by the state hash. */
export type RngState = { a: number; b: number; c: number; d: number };

/**
 * A deterministic stream of integers. Everything is integer arithmetic on tychei's 32-bit
 * outputs, so every JS engine draws the same numbers from the same seed.
 */
export type Rng = {
  /** A uniform integer in [0, n), for 1 <= n <= 2^32 (rejection sampling: no modulo bias). */
  below(n: number): number;
  /** A uniform integer in [min, max]. */
  between(min: number, max: number): number;
  /** True with probability basisPoints / 10,000. */
  chance(basisPoints: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** The generator's state now, to keep inside the game state. */
  state(): RngState;
};

type Tychei = seedrandom.StatefulPRNG<seedrandom.State.Tychei>;

function wrap(prng: Tychei): Rng {
  const uint32 = () => prng.int32() >>> 0;
  const below = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 32) {
      throw new RangeError(`rng.below needs an integer in [1, 2^32], got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = uint32();
      if (x < limit) return x % n;
    }
  };
  return {
    below,
    between: (min, max) => min + below(max - min + 1),
    chance: (basisPoints) => below(10_000) < basisPoints,
    pick: <T>(items: readonly T[]): T => {
      const item = items[below(items.length)];
      if (item === undefined) throw new RangeError('rng.pick needs a non-empty list');
      return item;
    },
    state: () => {
      const { a, b, c, d } = prng.state();
      return { a, b, c, d };
    },
  };
}

/** A stream seeded from a recorded string seed (a session's seed or an event's). */
export function rngFromSeed(seed: string): Rng {
  if (typeof seed !== 'string' || seed.length === 0) {
    throw new TypeError(
      'rngFromSeed needs a non-empty string seed (a number seeds a different stream)',
    );
  }
  return wrap(seedrandom.tychei(seed, { state: true }));
}

export function isRngState(value: unknown): value is RngState {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return (['a', 'b', 'c', 'd'] as const).every(
    (k) => typeof s[k] === 'number' && (s[k] | 0) === s[k],
  );
}

/**
 * Resumes a stream from a saved state. seedrandom silently ignores a state of the wrong shape
 * and starts a fresh stream, so the shape is checked here and a bad one throws.
 */
export function rngFromState(state: RngState): Rng {
  if (!isRngState(state)) throw new TypeError('rngFromState needs {a, b, c, d} as 32-bit integers');
  return wrap(seedrandom.tychei('', { state: { ...state } }));
}
