// A game module as a studio ships one: compiled JavaScript that imports agate by its package name
// (here through the package's self-reference; `npm run build` first). The loader tests list its
// exports in configuration files: `rules` is a good game, the others are each wrong one way.
import { z } from 'zod';
import { defineEventTypes } from 'agate';

const pinballTypes = defineEventTypes('pinball', 1, [
  {
    type: 'ball.launched',
    version: 1,
    schema: z.strictObject({ seed: z.string().min(1) }),
    consumesRandomness: true,
  },
  {
    type: 'bonus.claimed',
    version: 1,
    schema: z.strictObject({ points: z.number().int().min(1).max(1000) }),
    consumesRandomness: false,
  },
]);

function evolve(state, event, rng) {
  switch (event.type) {
    case 'ball.launched':
      if (rng === null || state.balls === 0) return { ...state, rejected: state.rejected + 1 };
      return { ...state, balls: state.balls - 1, score: state.score + rng.between(1, 100) };
    case 'bonus.claimed':
      if (state.balls === 3) return { ...state, rejected: state.rejected + 1 };
      return { ...state, score: state.score + event.data.points };
    default:
      return state;
  }
}

function pinball(version, eventTypes) {
  return {
    name: 'pinball',
    version,
    eventTypes,
    upcasters: [],
    dayBoundaryTypes: [],
    initialState: () => ({ balls: 3, score: 0, rejected: 0 }),
    evolve,
    rejectReasons: ['no_ball_left'],
    verdict: (before, after) =>
      after.rejected > before.rejected
        ? { accepted: false, reason: 'no_ball_left' }
        : { accepted: true },
    score: (state) => state.score,
  };
}

export const rules = pinball(1, pinballTypes);

/** Two versions of one game, exported as an array. */
export const versions = [
  rules,
  pinball(2, defineEventTypes('pinball', 2, pinballTypes.definitions())),
];

/** Not rules: a studio exported its configuration by mistake. */
export const notRules = { name: 'pinball', balls: 3 };

/** Rules whose event schema has no JSON Schema (a date), which the API could not publish. */
export const datedRules = pinball(
  3,
  defineEventTypes('pinball', 3, [
    {
      type: 'ball.launched',
      version: 1,
      schema: z.strictObject({ at: z.date() }),
      consumesRandomness: false,
    },
  ]),
);
