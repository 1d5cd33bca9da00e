import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { archiveGateV1 } from '../../src/game/index.js';
import { proveDeterminism } from '../../src/testing/index.js';
import type { DeterminismProperty, EventInput } from '../../src/testing/index.js';
import {
  forgetsRngState,
  hiddenCounter,
  readsHiddenCounter,
  throwsOnRejection,
  undefinedInState,
  unlistedReason,
} from '../support/broken-rules.js';
import { gateSessionArb, toEvents } from '../support/gate-actions.js';
import { tinyRules } from '../support/tiny-rules.js';

const tsx = ['--import', 'tsx'];
const brokenModule = new URL('../support/broken-rules.ts', import.meta.url);

const tinyEvent: fc.Arbitrary<EventInput> = fc.oneof(
  fc.record({
    type: fc.constant('counter.incremented'),
    version: fc.constant(1),
    data: fc.record({ by: fc.integer({ min: -5, max: 20 }) }),
  }),
  fc.record({
    type: fc.constant('counter.incremented'),
    version: fc.constant(2),
    data: fc.record({ by: fc.integer({ min: -5, max: 20 }), note: fc.string({ maxLength: 8 }) }),
  }),
  // No seed: the harness draws it as the server would.
  fc.record({
    type: fc.constant('dice.rolled'),
    version: fc.constant(1),
    data: fc.record({ sides: fc.integer({ min: 2, max: 20 }) }),
  }),
  fc.record({
    type: fc.constant('note.written'),
    version: fc.constant(1),
    data: fc.record({ text: fc.string({ maxLength: 8 }) }),
  }),
  // Refused by the store (unknown type): left out of the session.
  fc.constant({ type: 'coffee.brewed', version: 1, data: {} }),
  { arbitrary: fc.constant({ type: 'session.ended', version: 1, data: {} }), weight: 1 },
);
const tinyEvents = fc.array(tinyEvent, { size: 'max', maxLength: 80 });

// archive-gate sessions played against a live state (test/support/gate-actions.ts), with the
// day.ended seeds left for the harness to draw.
const gateEvents: fc.Arbitrary<readonly EventInput[]> = gateSessionArb.map((g) =>
  toEvents(g).events.map(({ type, version, data }) => ({
    type,
    version,
    data: type === 'day.ended' ? {} : data,
  })),
);

describe('proveDeterminism', () => {
  afterEach(() => {
    hiddenCounter.value = 0;
  });

  test('passes for archive-gate', async () => {
    await proveDeterminism({
      rules: archiveGateV1,
      module: new URL('../../src/game/index.ts', import.meta.url),
      export: 'archiveGateV1',
      execArgv: tsx,
      events: gateEvents,
      numRuns: 25,
    });
  });

  test('passes for the tiny game, with configs and seeds drawn by the harness', async () => {
    await proveDeterminism({
      rules: tinyRules,
      module: new URL('../support/tiny-rules.ts', import.meta.url),
      export: 'tinyRules',
      execArgv: tsx,
      events: tinyEvents,
      config: fc.record({ level: fc.nat(3) }),
      numRuns: 60,
    });
  });

  test('refuses a generator that gives nothing the store accepts', async () => {
    const misspelt = fc.array(fc.constant({ type: 'counter.incremnted', version: 1, data: {} }));
    await expect(
      proveDeterminism({ rules: tinyRules, module: brokenModule, events: misspelt }),
    ).rejects.toThrow(
      /^The events arbitrary gave tiny v1 no event the store accepts in 20 sessions; the first refused: tiny v1 has no event type counter\.incremnted v1\./,
    );
  });

  const broken: [string, DeterminismProperty, string, RegExp][] = [
    [
      'reads a hidden counter',
      'freshProcessAgrees',
      'readsHiddenCounter',
      /a fresh Node process gives state hash/,
    ],
    [
      'keeps undefined in its state',
      'stateSurvivesJson',
      'undefinedInState',
      /holds undefined at \$\.lastNote/,
    ],
    [
      'throws on a rejected action',
      'rejectionsNeverThrow',
      'throwsOnRejection',
      /evolve threw on event \d+ \(counter\.incremented/,
    ],
    [
      'keeps its rng stream outside the state',
      'foldEqualsReplay',
      'forgetsRngState',
      /The snapshot at sequence \d+ plus event/,
    ],
    [
      'gives a reason it does not list',
      'rejectionsNeverThrow',
      'unlistedReason',
      /"negative_increment".*not one of rejectReasons \(rejected\)/,
    ],
  ];
  const rulesByExport = {
    readsHiddenCounter,
    undefinedInState,
    throwsOnRejection,
    forgetsRngState,
    unlistedReason,
  } as const;

  test.each(broken)('fails, naming %s, in %s', async (_, property, exportName, message) => {
    hiddenCounter.value = 1;
    const options = {
      rules: rulesByExport[exportName as keyof typeof rulesByExport],
      module: brokenModule,
      export: exportName,
      execArgv: tsx,
      events: tinyEvents,
      numRuns: 30,
    };
    const run = proveDeterminism({ ...options, properties: [property] });
    await expect(run).rejects.toThrow(new RegExp(`^${property} fails for tiny v1`));
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toThrow(/seed: 20261202, path: "/);
  });
});
