import { createGameCatalog, rngFromSeed, rngFromState } from '../../src/game/index.js';
import type { GameEvent, GameRules, Rng, RngState } from '../../src/game/index.js';
import { tinyGame } from './tiny-game.js';

export type TinyState = {
  total: number;
  rolls: number[];
  notes: number;
  /** Drawn from the session stream on every increment, so the stream must survive snapshots. */
  luck: number;
  rejected: number;
  ended: boolean;
  rng: RngState;
};

function evolve(state: TinyState, event: GameEvent, rng: Rng | null): TinyState {
  if (state.ended) return { ...state, rejected: state.rejected + 1 };
  switch (event.type) {
    case 'counter.incremented': {
      const session = rngFromState(state.rng);
      const luck = state.luck + session.below(10);
      return {
        ...state,
        total: state.total + (event.data.by as number),
        luck,
        rng: session.state(),
      };
    }
    case 'dice.rolled':
      if (rng === null) return { ...state, rejected: state.rejected + 1 };
      return { ...state, rolls: [...state.rolls, rng.between(1, event.data.sides as number)] };
    case 'note.written':
      return { ...state, notes: state.notes + 1 };
    case 'session.ended':
      return { ...state, ended: true };
    default:
      return { ...state, rejected: state.rejected + 1 };
  }
}

/** The tests' tiny game as rules: counters, dice from the event's seed, luck from the session stream. */
export const tinyRules: GameRules<TinyState> = {
  name: 'tiny',
  version: 1,
  eventTypes: tinyGame,
  upcasters: [
    { type: 'counter.incremented', fromVersion: 1, upcast: (data) => ({ ...data, note: '' }) },
  ],
  dayBoundaryTypes: ['note.written'],
  initialState: (seed) => ({
    total: 0,
    rolls: [],
    notes: 0,
    luck: 0,
    rejected: 0,
    ended: false,
    rng: rngFromSeed(seed).state(),
  }),
  evolve,
  rejectReasons: ['rejected'],
  verdict: (before, after) =>
    after.rejected > before.rejected ? { accepted: false, reason: 'rejected' } : { accepted: true },
  score: (state) => state.total,
  // Applied to the upcast data: a v1 increment reads with note ''.
  analyticsFields: {
    'counter.incremented': (data) => ({ by: data.by as number, note: data.note as string }),
  },
};

export const tinyGames = createGameCatalog([tinyRules]);
