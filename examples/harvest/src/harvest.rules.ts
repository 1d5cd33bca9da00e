import { rngFromSeed } from 'agate';
import type { GameRules } from 'agate';
import { harvestConfigSchema } from './config.js';
import { evolveHarvest } from './evolve.js';
import { harvestEventTypes, harvestUpcasters } from './event-types.js';
import { noRejections, REJECT_REASONS, rejectionOf } from './state.js';
import type { Field, HarvestState } from './state.js';

/** The state before the first event; `config` was validated when the session was created. */
export function initialHarvestState(seed: string, config: Record<string, unknown>): HarvestState {
  const parsed = harvestConfigSchema.parse(config);
  const fields: Field[] = [];
  for (let i = 0; i < parsed.fields; i += 1) fields.push({ crop: 'none', growth: 0 });
  return {
    round: 0,
    phase: 'idle',
    weather: 'fair',
    coins: parsed.startingCoins,
    score: 0,
    fields,
    harvests: 0,
    blighted: 0,
    rejected: 0,
    rejectedByReason: noRejections(),
    config: parsed,
    rng: rngFromSeed(seed).state(),
  };
}

/** Harvest, rules version 1: plant, wait out the weather, harvest before blight takes it. */
export const harvestRules: GameRules<HarvestState> = {
  name: 'harvest',
  version: 1,
  eventTypes: harvestEventTypes,
  upcasters: harvestUpcasters,
  dayBoundaryTypes: ['round.ended'],
  initialState: initialHarvestState,
  evolve: evolveHarvest,
  rejectReasons: REJECT_REASONS,
  verdict(before, after) {
    const reason = rejectionOf(before, after);
    return reason === undefined ? { accepted: true } : { accepted: false, reason };
  },
  score: (state) => state.score,
};
