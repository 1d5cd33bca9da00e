// A plug-in game as a studio ships one (compiled JavaScript importing agate by its package name,
// through the package's self-reference; `npm run build` first). `rules` is counter v1 as its
// fixtures were recorded; `changedRules` is counter v1 changed without a new version.
import { z } from 'zod';
import { defineEventTypes } from 'agate';

const counterTypes = defineEventTypes('counter', 1, [
  {
    type: 'counter.added',
    version: 1,
    schema: z.strictObject({ by: z.number().int().min(0).max(100) }),
    consumesRandomness: false,
  },
]);

function counterRules(weight) {
  return {
    name: 'counter',
    version: 1,
    eventTypes: counterTypes,
    upcasters: [],
    dayBoundaryTypes: [],
    initialState: () => ({ total: 0, ended: false }),
    evolve: (state, event) =>
      event.type === 'counter.added'
        ? { ...state, total: state.total + event.data.by * weight }
        : { ...state, ended: true },
    rejectReasons: [],
    verdict: () => ({ accepted: true }),
    score: (state) => state.total,
  };
}

export const rules = counterRules(1);
export const changedRules = counterRules(2);
