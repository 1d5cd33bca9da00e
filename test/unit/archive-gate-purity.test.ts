import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rngFromSeed } from '../../src/game/index.js';
import type { GameEvent } from '../../src/game/index.js';
import { archiveGateV1 } from '../../src/game/archive-gate/index.js';
import type { GateState } from '../../src/game/archive-gate/index.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The path of the first thing that is not plain, integer-only JSON, or null. */
function nonPlain(value: unknown, path = '$'): string | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? null : path;
  if (typeof value === 'string' || typeof value === 'boolean') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const bad = nonPlain(value[i], `${path}[${i}]`);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    for (const [key, child] of Object.entries(value)) {
      const bad = child === undefined ? `${path}.${key}` : nonPlain(child, `${path}.${key}`);
      if (bad !== null) return bad;
    }
    return null;
  }
  return path;
}

const types = [
  'day.started',
  'request.decided',
  'request.investigated',
  'defense.purchased',
  'day.ended',
  'session.ended',
  'coffee.brewed',
];

const requestId = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 8 }))
    .map(([d, r]) => `d${d}-r${r}`),
  fc.string({ maxLength: 6 }),
);

type RawEvent = { type: string; version: number; data: Record<string, unknown> };
const raw = (type: string, version: number, data: fc.Arbitrary<Record<string, unknown>>) =>
  data.map((d): RawEvent => ({ type, version, data: d }));

/** Mostly events the store would accept, so whole days get played and settled. */
const plausibleEvent = fc.oneof(
  { weight: 30, arbitrary: raw('day.started', 1, fc.constant({})) },
  {
    weight: 60,
    arbitrary: raw(
      'request.decided',
      2,
      fc.record({ requestId, decision: fc.constantFrom('approve', 'deny', 'flag') }),
    ),
  },
  {
    weight: 20,
    arbitrary: raw('request.decided', 1, fc.record({ requestId, approved: fc.boolean() })),
  },
  { weight: 30, arbitrary: raw('request.investigated', 1, fc.record({ requestId })) },
  {
    weight: 20,
    arbitrary: raw(
      'defense.purchased',
      1,
      fc.record({ defense: fc.constantFrom('firewall', 'mfa', 'training') }),
    ),
  },
  {
    weight: 30,
    arbitrary: raw(
      'day.ended',
      1,
      fc.record({ seed: fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constant('')) }),
    ),
  },
  { weight: 1, arbitrary: raw('session.ended', 1, fc.constant({})) },
);

/** Anything at all: unknown types and versions, data of any shape. */
const garbageEvent = fc.record({
  type: fc.constantFrom(...types),
  version: fc.integer({ min: 0, max: 3 }),
  data: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })),
});

const anyEvent = fc
  .tuple(
    fc.oneof({ weight: 5, arbitrary: plausibleEvent }, { weight: 1, arbitrary: garbageEvent }),
    fc.boolean(),
  )
  .map(([e, giveStream]) => ({ ...e, giveStream }));

const anyConfig = fc.record(
  {
    startingCredits: fc.integer({ min: 0, max: 2000 }),
    maliciousRateBp: fc.integer({ min: 0, max: 10_000 }),
    investigateCost: fc.integer({ min: 0, max: 300 }),
    requestsPerDay: fc
      .tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 }))
      .map(([a, b]) => ({ min: Math.min(a, b), max: Math.max(a, b) })),
  },
  { requiredKeys: [] },
);

function streamFor(data: Record<string, unknown>, give: boolean) {
  const seed = data.seed;
  if (typeof seed === 'string' && seed.length > 0) return rngFromSeed(seed);
  return give ? rngFromSeed('fallback') : null;
}

describe('archive-gate purity', () => {
  it('never throws, never mutates its input, and keeps every state plain integer JSON', () => {
    let daysSettled = 0;
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }),
        anyConfig,
        fc.array(anyEvent, { minLength: 10, maxLength: 80 }),
        (seed, config, events) => {
          let state: GateState = archiveGateV1.initialState(seed, config);
          events.forEach((e, i) => {
            const before = JSON.stringify(deepFreeze(state));
            const event: GameEvent = {
              sequence: i + 1,
              type: e.type,
              version: e.version,
              data: e.data,
            };
            const next = archiveGateV1.evolve(state, event, streamFor(e.data, e.giveStream));
            expect(JSON.stringify(state)).toBe(before);
            expect(nonPlain(next)).toBeNull();
            expect(JSON.parse(JSON.stringify(next))).toEqual(next);
            expect(next.trust).toBeGreaterThanOrEqual(0);
            expect(next.trust).toBeLessThanOrEqual(100);
            expect(next.credits).toBeGreaterThanOrEqual(0);
            state = next;
          });
          daysSettled += state.stats.daysCompleted;
        },
      ),
      { numRuns: 150 },
    );
    expect(daysSettled).toBeGreaterThan(50);
  });

  it('folds the same events to the same state every time', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 40 }), (events) => {
        const fold = () =>
          events.reduce(
            (s, e, i) =>
              archiveGateV1.evolve(
                s,
                { sequence: i + 1, type: e.type, version: e.version, data: e.data },
                streamFor(e.data, e.giveStream),
              ),
            archiveGateV1.initialState('same', {}),
          );
        expect(fold()).toEqual(fold());
      }),
      { numRuns: 100 },
    );
  });

  it('keeps clocks, Math.random, floats, transcendental maths and key order out of the rules', () => {
    const dir = join(import.meta.dirname, '../../src/game/archive-gate');
    const forbidden = [
      /Math\.random/,
      /\bDate\b/,
      /performance\./,
      /\bIntl\b/,
      /localeCompare/,
      /Math\.(sin|cos|tan|exp|log|pow|hypot|sqrt)/,
      /Object\.(keys|values|entries)/,
      /for\s*\([^)]*\bin\b/,
      /new (Map|Set)\b/,
      /\b\d+\.\d+\b/,
    ];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      for (const pattern of forbidden) {
        expect({ file, found: pattern.exec(source)?.[0] }).toEqual({ file, found: undefined });
      }
    }
  });
});
