import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldAll } from '../../replay/index.js';
import type { ReplayEvent } from '../../replay/index.js';
import { fixtureFoldSession, fixtureReplayEvents, loadFixtures } from '../../src/fixtures/index.js';
import { defaultGames, gateEventTypes } from '../../src/game/index.js';
import { upcastToLatest } from '../../src/game/archive-gate/index.js';
import { toAction } from '../../src/game/archive-gate/gate-action.js';
import type { GameEvent } from '../../src/game/index.js';
import { hasExactKeys } from '../../src/game/exact-keys.js';

/**
 * The same own keys and values behind a prototype that is not Object.prototype: the quick path
 * takes only plain objects, so the schemas judge it (zod reads it like a plain object).
 */
function schemasOnly(data: Record<string, unknown>): Record<string, unknown> {
  return Object.assign(Object.create(Object.create(Object.prototype) as object) as object, data);
}

/** What the registry's schemas make of an event: the reference the quick path must agree with. */
function bySchemas(event: GameEvent): unknown {
  const current = upcastToLatest(event);
  const newest = gateEventTypes.latestVersion(current.type);
  if (newest === undefined || current.version !== newest) return undefined;
  const parsed = gateEventTypes.find(current.type, newest)?.schema.safeParse(current.data);
  if (parsed?.success !== true) return undefined;
  // Actions carry neither the seed (the fold hands it over as the event's stream) nor the reason.
  const fields: Record<string, unknown> = { ...parsed.data };
  delete fields.seed;
  delete fields.reason;
  return { type: current.type, ...fields };
}

/** Strings around the schemas' length limits (1..100 for ids, 1..256 for seeds). */
const text = fc.oneof(
  fc.constantFrom(0, 1, 99, 100, 101, 255, 256, 257, 501).map((n) => 'x'.repeat(n)),
  fc.string({ maxLength: 4 }),
);
const anyValue = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue());
const latest = { 'request.decided': 2 } as Record<string, number>;

/** Data each type's schemas accept, when the strings fall inside their limits. */
const wellFormed: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  'day.started': fc.constant({}),
  'request.decided': fc.record({
    requestId: text,
    decision: fc.constantFrom('approve', 'deny', 'flag'),
  }),
  'request.investigated': fc.record({ requestId: text }),
  'defense.purchased': fc.record({ defense: fc.constantFrom('firewall', 'mfa', 'training') }),
  'day.ended': fc.record({ seed: text }),
  'session.ended': fc.record({ reason: text }, { requiredKeys: [] }),
  'coffee.brewed': fc.record({ seed: text }),
};

/** Well-formed data, then maybe a key dropped, a key set to anything, a null prototype. */
const nearlyWellFormed = (type: string) =>
  fc
    .tuple(
      wellFormed[type] ?? fc.constant({}),
      fc.option(fc.constantFrom('requestId', 'decision', 'defense', 'seed', 'reason')),
      fc.option(
        fc.tuple(fc.constantFrom('requestId', 'decision', 'approved', 'seed', 'x'), anyValue),
      ),
      fc.boolean(),
    )
    .map(([data, dropped, set, nullProto]) => {
      const out: Record<string, unknown> = nullProto
        ? (Object.create(null) as Record<string, unknown>)
        : {};
      for (const [k, v] of Object.entries(data)) if (k !== dropped) out[k] = v;
      if (set !== null) out[set[0]] = set[1];
      return out;
    });

const event = fc.constantFrom(...Object.keys(wellFormed)).chain((type) =>
  fc.record({
    sequence: fc.constant(1),
    type: fc.constant(type),
    version: fc.oneof(
      { weight: 4, arbitrary: fc.constant(latest[type] ?? 1) },
      fc.integer({ min: 1, max: 3 }),
    ),
    data: nearlyWellFormed(type),
  }),
);

describe('reading a stored event as an action', () => {
  it('gives what the schemas give, for any data, valid or not', () => {
    fc.assert(
      fc.property(event, (e) => {
        expect(toAction(e)).toEqual(bySchemas(e));
      }),
      { numRuns: 3_000 },
    );
  });

  it('takes the usual shapes, at the limits of their schemas', () => {
    const decided = (requestId: string) => ({
      sequence: 1,
      type: 'request.decided',
      version: 2,
      data: { requestId, decision: 'flag' },
    });
    expect(toAction(decided('r'.repeat(100)))).toEqual({
      type: 'request.decided',
      requestId: 'r'.repeat(100),
      decision: 'flag',
    });
    expect(toAction(decided('r'.repeat(101)))).toBeUndefined();
    expect(toAction(decided(''))).toBeUndefined();
    const ended = { sequence: 1, type: 'day.ended', version: 1, data: { seed: 's'.repeat(256) } };
    expect(toAction(ended)).toEqual({ type: 'day.ended' });
    expect(toAction({ ...ended, data: { seed: 's'.repeat(257) } })).toBeUndefined();
  });

  it('folds every golden fixture to its recorded hashes through the schemas alone too', async () => {
    const fixtures = await loadFixtures(fileURLToPath(new URL('../../fixtures/', import.meta.url)));
    for (const fixture of fixtures) {
      const rules = defaultGames.find(fixture.rules, fixture.rulesVersion);
      if (rules === undefined) throw new Error(`${fixture.name}: rules not registered`);
      const events: ReplayEvent[] = fixtureReplayEvents(fixture.events).map((e) => ({
        ...e,
        data: schemasOnly(e.data),
      }));
      const folded = foldAll(rules, fixtureFoldSession(rules, fixture), events);
      expect(folded.stateHash, fixture.name).toBe(fixture.checkpoints.at(-1)?.stateHash);
    }
  });
});

describe('hasExactKeys', () => {
  it('is true only for plain objects with exactly the keys asked for', () => {
    expect(hasExactKeys({ a: 1, b: 2 }, ['b', 'a'])).toBe(true);
    expect(hasExactKeys(Object.assign(Object.create(null) as object, { a: 1 }), ['a'])).toBe(true);
    expect(hasExactKeys({}, [])).toBe(true);
    expect(hasExactKeys({ a: 1 }, ['a', 'b'])).toBe(false);
    expect(hasExactKeys({ a: 1, c: 3 }, ['a'])).toBe(false);
    expect(hasExactKeys(Object.create({ a: 1 }) as object, ['a'])).toBe(false);
    expect(hasExactKeys(schemasOnly({ a: 1 }), ['a'])).toBe(false);
    expect(hasExactKeys(['a'], ['0'])).toBe(false);
    expect(hasExactKeys(null, [])).toBe(false);
    expect(hasExactKeys('a', [])).toBe(false);
  });
});
