import { z } from 'zod';

/**
 * A session's config, validated and defaulted when the session is created (`{}` gives every
 * default). Strict: a misspelt key is refused rather than ignored.
 */
export const harvestConfigSchema = z.strictObject({
  fields: z.number().int().min(1).max(8).default(3),
  startingCoins: z.number().int().min(0).max(10_000).default(10),
});

export type HarvestConfig = z.output<typeof harvestConfigSchema>;
