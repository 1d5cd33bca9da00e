import { AgateError } from '../errors/index.js';

const maxTypes = 50;

/**
 * A feed's type filter as it is read and stored: sorted, without duplicates; null for every
 * type. `invalid_request` naming `name` unless 1 to 50 names of 1 to 100 characters each.
 */
export function checkFeedTypes(
  types: readonly string[] | null | undefined,
  name: string,
): string[] | null {
  if (types === undefined || types === null) return null;
  const ok =
    Array.isArray(types) &&
    types.length >= 1 &&
    types.length <= maxTypes &&
    types.every((t) => typeof t === 'string' && t.length >= 1 && t.length <= 100);
  if (!ok) {
    throw new AgateError(
      'invalid_request',
      `${name} must list 1 to ${maxTypes} event type names of 1 to 100 characters each (or be null for every type).`,
    );
  }
  return [...new Set<string>(types)].sort();
}
