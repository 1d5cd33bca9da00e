import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rngFromSeed } from 'agate';
import type { GameEvent } from 'agate';
import { harvestRules, initialHarvestState } from '../src/index.js';
import type { HarvestState } from '../src/index.js';

function fold(state: HarvestState, events: readonly Omit<GameEvent, 'sequence'>[]): HarvestState {
  return events.reduce((s, e, i) => {
    const seed = e.data.seed;
    const rng = typeof seed === 'string' ? rngFromSeed(seed) : null;
    return harvestRules.evolve(s, { sequence: i + 1, ...e }, rng);
  }, state);
}

const started = { type: 'round.started', version: 1, data: {} };

describe('harvest rules', () => {
  it('draws the round weather from the session stream kept in the state', () => {
    const a = fold(initialHarvestState('seed-a', {}), [started]);
    const again = fold(initialHarvestState('seed-a', {}), [started]);
    assert.deepEqual(a, again);
    assert.notDeepEqual(a.rng, initialHarvestState('seed-a', {}).rng);
  });

  it('refuses planting on an occupied field with a reason the verdict names', () => {
    const plant = { type: 'crop.planted', version: 2, data: { field: 0, crop: 'wheat' } };
    const before = fold(initialHarvestState('s', {}), [started, plant]);
    const after = fold(before, [plant]);
    assert.deepEqual(harvestRules.verdict(before, after, { sequence: 3, ...plant }), {
      accepted: false,
      reason: 'field_occupied',
    });
    assert.equal(after.coins, before.coins);
    assert.ok(harvestRules.rejectReasons.includes('field_occupied'));
  });

  it('accepts an upcast crop.planted v1 as wheat', () => {
    const [upcaster] = harvestRules.upcasters;
    assert.deepEqual(upcaster?.upcast({ field: 2 }), { field: 2, crop: 'wheat' });
  });

  it('refuses a round end without its recorded randomness', () => {
    const before = fold(initialHarvestState('s', {}), [started]);
    const ended = { sequence: 2, type: 'round.ended', version: 1, data: { seed: 'x' } };
    const after = harvestRules.evolve(before, ended, null);
    assert.deepEqual(harvestRules.verdict(before, after, ended), {
      accepted: false,
      reason: 'missing_randomness',
    });
  });
});
