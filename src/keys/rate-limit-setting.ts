import { AgateError } from '../errors/index.js';

/** A rate limit stored on a key or a tenant (migration 0016): requests per second and burst. */
export type RateLimitSetting = { perSecond: number; burst: number };

/** Where the limit a request got came from: its key, its key's tenant, or the server's setting. */
export type RateLimitSource = 'key' | 'tenant' | 'server';

/** The limit a key's lookup found in the database: its own pair, else its tenant's. */
export type StoredRateLimit = RateLimitSetting & { source: 'key' | 'tenant' };

/** The largest value a limit column holds (PostgreSQL `integer`). */
export const maxRateLimitValue = 2_147_483_647;

function whole(value: unknown, name: string, subject: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    if (value >= 1 && value <= maxRateLimitValue) return value;
  }
  throw new AgateError(
    'invalid_request',
    `${name} of ${subject} must be a whole number from 1 to ${maxRateLimitValue}, not ${String(value)}; nothing was changed. To inherit instead, clear the limit (--inherit).`,
  );
}

/**
 * Checks a limit to store on `subject` (for the message: "key <id>", "tenant <id>"): null
 * inherits; otherwise both numbers are whole, from 1 to 2^31 - 1.
 */
export function checkRateLimitSetting(
  setting: RateLimitSetting | null,
  subject: string,
): RateLimitSetting | null {
  if (setting === null) return null;
  return {
    perSecond: whole(setting.perSecond, 'The rate limit', subject),
    burst: whole(setting.burst, 'The rate burst', subject),
  };
}

/** A stored pair read back from its two columns: null when they are NULL (inherit). */
export function storedSetting(
  perSecond: number | null,
  burst: number | null,
): RateLimitSetting | null {
  return perSecond === null || burst === null ? null : { perSecond, burst };
}
