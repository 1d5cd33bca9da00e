import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { checkFixtures, proveDeterminism } from 'agate/testing';
import { harvestRules } from '../src/index.js';

const field = fc.integer({ min: 0, max: 4 });

/** What a game server sends, weighted towards whole rounds; round.ended gets its seed from the harness. */
const harvestEvent = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ type: 'round.started', version: 1, data: {} }) },
  {
    weight: 2,
    arbitrary: field.map((f) => ({ type: 'crop.planted', version: 1, data: { field: f } })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ field, crop: fc.constantFrom('wheat', 'corn') })
      .map((data) => ({ type: 'crop.planted', version: 2, data })),
  },
  {
    weight: 3,
    arbitrary: field.map((f) => ({ type: 'crop.harvested', version: 1, data: { field: f } })),
  },
  { weight: 3, arbitrary: fc.constant({ type: 'round.ended', version: 1, data: {} }) },
  { weight: 1, arbitrary: fc.constant({ type: 'session.ended', version: 1, data: {} }) },
);

describe('harvest determinism', () => {
  it('folds the same live, from genesis, from any snapshot, through JSON and in a fresh process', async () => {
    await proveDeterminism({
      rules: harvestRules,
      module: new URL('../src/index.js', import.meta.url),
      export: 'harvestRules',
      events: fc.array(harvestEvent, { size: 'max', maxLength: 120 }),
      config: fc.record({
        fields: fc.integer({ min: 1, max: 4 }),
        startingCoins: fc.integer({ min: 0, max: 30 }),
      }),
    });
  });

  it('reproduces every golden fixture', async () => {
    const verdicts = await checkFixtures(
      harvestRules,
      fileURLToPath(new URL('../../fixtures', import.meta.url)),
    );
    assert.ok(verdicts.length >= 2, 'expected the recorded fixtures under fixtures/');
    for (const verdict of verdicts) assert.equal(verdict.status, 'unchanged', verdict.file);
  });
});
