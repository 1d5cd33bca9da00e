import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { isUuid } from '../db/index.js';
import { maxRateLimitValue } from '../keys/index.js';
import type { RateLimitSetting } from '../keys/index.js';

/** `--tenant`: a UUID, in lower case; anything else is a usage error (exit 2). */
export function tenantArgument(value: string): string {
  const candidate: unknown = value;
  if (!isUuid(candidate)) {
    throw new InvalidArgumentError(
      `--tenant must be a tenant id (a UUID, as agate tenants create prints), got "${value}".`,
    );
  }
  return value.toLowerCase();
}

/** A parser for a flag that takes a whole number from `min` to `max`. */
export function wholeNumberArgument(
  flag: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range =
        max !== Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > 0 ? ` from ${min}` : '';
      throw new InvalidArgumentError(`${flag} must be a whole number${range}, got "${value}".`);
    }
    return n;
  };
}

/** A parser for a flag that takes one of a few words. */
export function oneOfArgument<const T extends string>(
  flag: string,
  choices: readonly T[],
): (value: string) => T {
  return (value) => {
    const found = choices.find((c) => c === value);
    if (found === undefined) {
      throw new InvalidArgumentError(
        `${flag} must be one of ${choices.join(', ')}, got "${value}".`,
      );
    }
    return found;
  };
}

/** `--rate-limit`, `--rate-burst` and `--inherit` as a command received them. */
export type RateLimitFlags = { rateLimit?: number; rateBurst?: number; inherit?: boolean };

/** Parsers of `--rate-limit` (requests per second) and `--rate-burst`: whole numbers that fit. */
export const rateLimitArgument = wholeNumberArgument('--rate-limit', 1, maxRateLimitValue);
export const rateBurstArgument = wholeNumberArgument('--rate-burst', 1, maxRateLimitValue);

/**
 * The limit the flags ask for: undefined when none is given, null for `--inherit`; the burst
 * defaults to two seconds' worth, as AGATE_RATE_BURST does. A usage error (exit 2) for a burst
 * without a rate or for a limit and `--inherit` together.
 */
export function rateLimitOfFlags(
  flags: RateLimitFlags,
  command: Command,
): RateLimitSetting | null | undefined {
  const { rateLimit: perSecond, rateBurst: burst } = flags;
  if (flags.inherit === true) {
    if (perSecond !== undefined || burst !== undefined) {
      command.error('error: give either --inherit or --rate-limit (with --rate-burst), not both', {
        exitCode: 2,
      });
    }
    return null;
  }
  if (perSecond === undefined) {
    if (burst === undefined) return undefined;
    command.error('error: --rate-burst needs --rate-limit <requests per second> too', {
      exitCode: 2,
    });
  }
  return { perSecond, burst: burst ?? Math.min(maxRateLimitValue, perSecond * 2) };
}

/** How a listing shows a stored limit. */
export function describeRateLimit(setting: RateLimitSetting | null, inherits: string): string {
  return setting === null
    ? `limit ${inherits}`
    : `limit ${setting.perSecond}/s burst ${setting.burst}`;
}
