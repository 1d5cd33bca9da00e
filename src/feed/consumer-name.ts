import { AgateError } from '../errors/index.js';

const namePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Names under this prefix are agate's own consumers (snapshots, hot state, analytics). */
export const reservedPrefix = 'agate.';

/**
 * Checks a consumer name: `invalid_request` when it is not one, or when it is agate's own and
 * the caller may not use those (`reserved` false: every tenant-facing caller).
 */
export function checkConsumerName(name: unknown, reserved: boolean): string {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new AgateError(
      'invalid_request',
      `A consumer name is 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit; ${JSON.stringify(String(name).slice(0, 80))} is not one.`,
    );
  }
  if (!reserved && name.startsWith(reservedPrefix)) {
    throw new AgateError(
      'invalid_request',
      `Consumer names under '${reservedPrefix}' are agate's own; pick a name without that prefix.`,
    );
  }
  return name;
}
