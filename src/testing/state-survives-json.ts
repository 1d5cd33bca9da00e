import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { createFolder, stateHash } from '../../replay/index.js';
import { describeEvent, generatedSessions, storedSession } from './generated-session.js';
import type { GeneratedSession, PropertyInput } from './generated-session.js';

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(Object.is(value, -0) ? '-0' : value);
  if (typeof value === 'object' && value !== null) {
    const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
    return `a ${prototype?.constructor?.name ?? 'null-prototype object'}`;
  }
  return `a ${typeof value}`;
}

/** The path of the first value in `value` that JSON does not give back as it was, or null. */
export function notJsonAt(value: unknown, path = '$'): { path: string; found: string } | null {
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return null;
  if (typeof value === 'number') {
    return Number.isFinite(value) && !Object.is(value, -0)
      ? null
      : { path, found: describeValue(value) };
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const bad = notJsonAt(value[i], `${path}[${i}]`);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, child] of Object.entries(value)) {
      const bad = notJsonAt(child, `${path}.${key}`);
      if (bad !== null) return bad;
    }
    return null;
  }
  return { path, found: describeValue(value) };
}

/**
 * Every state of a session (the initial one and the one after each event) survives a JSON round
 * trip, as snapshots and the hot state store it: plain objects, arrays, strings, booleans, null
 * and finite numbers only (no `undefined`, Map, Set, Date, class instance, NaN or -0), and the
 * state read back has the same state hash.
 */
export function stateSurvivesJson(input: PropertyInput): fc.IPropertyWithHooks<[GeneratedSession]> {
  const { rules } = input;
  return fc.property(generatedSessions(input), (generated) => {
    const stored = storedSession(rules, generated);
    const folder = createFolder(rules, stored.session);
    const check = (after: string) => {
      const bad = notJsonAt(folder.state);
      if (bad !== null) {
        throw new Error(
          `The state ${after} holds ${bad.found} at ${bad.path}, which JSON does not keep: a snapshot or the hot state would read back another state. Keep state to plain JSON.`,
        );
      }
      const back = JSON.parse(JSON.stringify(folder.state)) as unknown;
      if (!isDeepStrictEqual(back, folder.state) || stateHash(back) !== stateHash(folder.state)) {
        throw new Error(`The state ${after} reads back from JSON as another state.`);
      }
    };
    check('before the first event');
    for (const event of stored.events) {
      folder.apply(event);
      check(`after ${describeEvent(event)}`);
    }
  });
}
