import { InvalidArgumentError } from 'commander';
import { isUuid } from '../db/index.js';

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
