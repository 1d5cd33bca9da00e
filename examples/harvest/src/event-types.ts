import { defineEventTypes } from 'agate';
import type { Upcaster } from 'agate';
import { z } from 'zod';
import { harvestConfigSchema } from './config.js';

const field = z.number().int().min(0).max(7);

export const roundStartedV1 = z.strictObject({});
/** Version 1 knew only wheat. */
export const cropPlantedV1 = z.strictObject({ field });
export const cropPlantedV2 = z.strictObject({ field, crop: z.enum(['wheat', 'corn']) });
export const cropHarvestedV1 = z.strictObject({ field });
/** The seed decides growth and blight: the server records it (a game server may not choose it). */
export const roundEndedV1 = z.strictObject({ seed: z.string().min(1).max(256) });

/** Every event type of harvest v1 (`session.ended` v1 is added by agate). */
export const harvestEventTypes = defineEventTypes(
  'harvest',
  1,
  [
    { type: 'round.started', version: 1, schema: roundStartedV1, consumesRandomness: false },
    { type: 'crop.planted', version: 1, schema: cropPlantedV1, consumesRandomness: false },
    { type: 'crop.planted', version: 2, schema: cropPlantedV2, consumesRandomness: false },
    { type: 'crop.harvested', version: 1, schema: cropHarvestedV1, consumesRandomness: false },
    { type: 'round.ended', version: 1, schema: roundEndedV1, consumesRandomness: true },
  ],
  { configSchema: harvestConfigSchema },
);

/** crop.planted v1 planted wheat; v2 names the crop. */
export const harvestUpcasters: readonly Upcaster[] = [
  {
    type: 'crop.planted',
    fromVersion: 1,
    upcast: (data) => ({ field: data.field, crop: 'wheat' }),
  },
];
