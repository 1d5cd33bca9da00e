import { z } from 'zod';

const requestsPerDay = z
  .strictObject({
    min: z.number().int().min(2).max(12).default(3),
    max: z.number().int().min(2).max(12).default(6),
  })
  .refine((r) => r.min <= r.max, {
    message: 'min must not be greater than max; raise max or lower min',
  })
  .prefault({});

/**
 * A session's config, validated and defaulted at creation (`{}` gives every default). Strict:
 * a misspelt key is an error rather than a silently ignored setting.
 */
export const gateConfigSchema = z.strictObject({
  startingCredits: z.number().int().min(0).max(1_000_000).default(1000),
  requestsPerDay,
  maliciousRateBp: z.number().int().min(0).max(10_000).default(3000),
  investigateCost: z.number().int().min(0).max(10_000).default(50),
});

export type GateConfig = z.output<typeof gateConfigSchema>;
