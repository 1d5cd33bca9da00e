import { z } from 'zod';
import { createEventTypeCatalog, defineEventTypes } from '../../src/game/index.js';

/** A tiny game of the tests' own, so the store is tested without the reference game. */
export const tinyGame = defineEventTypes('tiny', 1, [
  {
    type: 'counter.incremented',
    version: 1,
    schema: z.strictObject({ by: z.number().int() }),
    consumesRandomness: false,
  },
  {
    type: 'counter.incremented',
    version: 2,
    schema: z.strictObject({ by: z.number().int(), note: z.string().max(10_000) }),
    consumesRandomness: false,
  },
  {
    type: 'dice.rolled',
    version: 1,
    schema: z.strictObject({ sides: z.number().int().min(2).max(100), seed: z.string().min(1) }),
    consumesRandomness: true,
    // The tests' game lets a client choose the dice's seed, to test that branch of the rules.
    clientMaySupplySeed: true,
  },
  {
    type: 'note.written',
    version: 1,
    schema: z.object({ text: z.string(), extra: z.unknown().optional() }),
    consumesRandomness: false,
  },
]);

export const tinyCatalog = createEventTypeCatalog([tinyGame]);
