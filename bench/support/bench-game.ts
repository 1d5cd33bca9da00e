import { z } from 'zod';
import { createEventTypeCatalog, defineEventTypes } from '../../src/game/index.js';
import { createGameCatalog } from '../../src/game/index.js';
import type { GameEvent, GameRules } from '../../src/game/index.js';

const benchEventTypes = defineEventTypes('bench', 1, [
  {
    type: 'bench.happened',
    version: 1,
    schema: z.object({ payload: z.string() }),
    consumesRandomness: false,
  },
]);

/** The event types alone, for a bare event store. */
export const benchCatalog = createEventTypeCatalog([benchEventTypes]);

type BenchState = { events: number; payloadChars: number; ended: boolean };

function evolve(state: BenchState, event: GameEvent): BenchState {
  if (event.type === 'session.ended') return { ...state, ended: true };
  const payload = event.data.payload;
  return {
    ...state,
    events: state.events + 1,
    payloadChars: state.payloadChars + (typeof payload === 'string' ? payload.length : 0),
  };
}

/** A game as small as a game can be, so that the bench measures agate and not the rules. */
export const benchRules: GameRules<BenchState> = {
  name: 'bench',
  version: 1,
  eventTypes: benchEventTypes,
  upcasters: [],
  dayBoundaryTypes: [],
  initialState: () => ({ events: 0, payloadChars: 0, ended: false }),
  evolve,
  rejectReasons: [],
  verdict: () => ({ accepted: true }),
  score: (state) => state.events,
};

export const benchGames = createGameCatalog([benchRules]);
