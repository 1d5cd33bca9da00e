/**
 * Whether `value` is a plain object (an object literal or parsed JSON) whose enumerable keys are
 * exactly `keys`, as a zod strict object counts them (inherited ones included). The answer does
 * not depend on key order, so rules may use it; it lives here because the rules folder bans key
 * iteration outright.
 */
export function hasExactKeys(
  value: unknown,
  keys: readonly string[],
): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let count = 0;
  for (const key in value) {
    if (!keys.includes(key)) return false;
    count += 1;
  }
  return count === keys.length;
}
