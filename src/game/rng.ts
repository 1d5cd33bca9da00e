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

/**
 * One step of Tyche-i (Neves and Araujo, 2011), the same arithmetic as seedrandom 3.0.5's
 * `tychei`, on words the caller owns. Written out here because building a seedrandom generator
 * costs closures and a 20-step warm-up even when a saved state replaces it at once, and replay
 * builds one for every day.started and day.ended; test/unit/rng.test.ts checks the streams
 * against seedrandom's.
 */
function step(w: RngState): number {
  let b = (w.b << 25) ^ (w.b >>> 7) ^ w.c;
  let c = (w.c - w.d) | 0;
  const d = (w.d << 24) ^ (w.d >>> 8) ^ w.a;
  const a = (w.a - b) | 0;
  b = (b << 20) ^ (b >>> 12) ^ c;
  c = (c - d) | 0;
  w.b = b;
  w.c = c;
  w.d = (d << 16) ^ (c >>> 16) ^ a;
  w.a = (a - b) | 0;
  return w.a;
}

const twoTo32 = 4_294_967_296;

function below(w: RngState, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > twoTo32) {
    throw new RangeError(`rng.below needs an integer in [1, 2^32], got ${n}`);
  }
  for (;;) {
    const x = step(w) >>> 0;
    // Accepts x below 2^32 - (2^32 % n), the largest multiple of n. Every x up to 2^32 - n is
    // below it, so that remainder is worked out (in uint32 arithmetic: (2^32 - n) % n) only for
    // the rare x above.
    if (x <= twoTo32 - n || x < twoTo32 - ((-n >>> 0) % n)) return x % n;
  }
}

function streamOver(w: RngState): Rng {
  return {
    below(n) {
      return below(w, n);
    },
    between(min, max) {
      return min + below(w, max - min + 1);
    },
    chance(basisPoints) {
      return below(w, 10_000) < basisPoints;
    },
    pick<T>(items: readonly T[]): T {
      const item = items[below(w, items.length)];
      if (item === undefined) throw new RangeError('rng.pick needs a non-empty list');
      return item;
    },
    state() {
      return { a: w.a, b: w.b, c: w.c, d: w.d };
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
  const w: RngState = { a: 0, b: 0, c: 2654435769 | 0, d: 1367130551 };
  // seedrandom's string seeding: mix in each UTF-16 unit, then 20 more steps.
  for (let k = 0; k < seed.length; k += 1) {
    w.b ^= seed.charCodeAt(k);
    step(w);
  }
  for (let k = 0; k < 20; k += 1) step(w);
  return streamOver(w);
}

function isInt32(value: unknown): boolean {
  return typeof value === 'number' && (value | 0) === value;
}

export function isRngState(value: unknown): value is RngState {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return isInt32(s.a) && isInt32(s.b) && isInt32(s.c) && isInt32(s.d);
}

/** Resumes a stream from a saved state; a state of the wrong shape throws. */
export function rngFromState(state: RngState): Rng {
  if (!isRngState(state)) throw new TypeError('rngFromState needs {a, b, c, d} as 32-bit integers');
  return streamOver({ a: state.a, b: state.b, c: state.c, d: state.d });
}
