// Rules that break one determinism property each, for the agate/testing tests. Each is the tiny
// game with one flaw; the fresh-process child imports this file (through tsx) by export name.
import { rngFromSeed } from '../../src/game/index.js';
import type { GameEvent, GameRules, Rng } from '../../src/game/index.js';
import { tinyRules } from './tiny-rules.js';
import type { TinyState } from './tiny-rules.js';

/** A counter the rules read: the test process moves it, a fresh process starts it at 0. */
export const hiddenCounter = { value: 0 };

export const readsHiddenCounter: GameRules<TinyState> = {
  ...tinyRules,
  evolve(state, event, rng) {
    const next = tinyRules.evolve(state, event, rng);
    return event.type === 'counter.incremented'
      ? { ...next, total: next.total + hiddenCounter.value }
      : next;
  },
};

/** `undefined` in state: JSON drops the key. */
export const undefinedInState: GameRules<TinyState & { lastNote?: string | undefined }> = {
  ...tinyRules,
  initialState: (seed, config) => ({
    ...tinyRules.initialState(seed, config),
    lastNote: undefined,
  }),
};

function isNegativeIncrement(event: GameEvent): boolean {
  return event.type === 'counter.incremented' && (event.data.by as number) < 0;
}

/** Refuses negative increments by throwing instead of folding them as rejected. */
export const throwsOnRejection: GameRules<TinyState> = {
  ...tinyRules,
  evolve(state, event, rng) {
    if (isNegativeIncrement(event)) throw new Error('negative increments are not allowed');
    return tinyRules.evolve(state, event, rng);
  },
};

/** The session stream lives in the module, not in the state: a snapshot cannot carry it. */
let stream: Rng = rngFromSeed('unset');

export const forgetsRngState: GameRules<TinyState> = {
  ...tinyRules,
  initialState(seed, config) {
    stream = rngFromSeed(seed);
    return tinyRules.initialState(seed, config);
  },
  evolve(state, event, rng) {
    const next = tinyRules.evolve(state, event, rng);
    return event.type === 'counter.incremented'
      ? { ...next, luck: state.luck + stream.below(10) }
      : next;
  },
};

/** Gives a reason code it does not list in rejectReasons. */
export const unlistedReason: GameRules<TinyState> = {
  ...tinyRules,
  evolve(state, event, rng) {
    if (isNegativeIncrement(event)) return { ...state, rejected: state.rejected + 1 };
    return tinyRules.evolve(state, event, rng);
  },
  verdict: (before, after) =>
    after.rejected > before.rejected
      ? { accepted: false, reason: 'negative_increment' }
      : { accepted: true },
};
