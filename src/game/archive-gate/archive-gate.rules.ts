import type { GameRules } from '../rules.js';
import { rngFromSeed } from '../rng.js';
import { gateAnalyticsFields } from './analytics-fields.js';
import { START_TRUST } from './balance.js';
import { gateConfigSchema } from './config.js';
import { evolveGate } from './evolve.js';
import { gateEventTypes, gateUpcasters } from './event-types.js';
import { emptyStats, noRejections, REJECT_REASONS, rejectionOf } from './state.js';
import type { GateState } from './state.js';

/**
 * The state before the first event. `config` was validated at session creation; parsing it again
 * only fills defaults (and throws on a config no session could have been created with).
 */
export function initialGateState(seed: string, config: Record<string, unknown>): GateState {
  const parsed = gateConfigSchema.parse(config);
  return {
    day: 0,
    phase: 'idle',
    credits: parsed.startingCredits,
    trust: START_TRUST,
    score: 0,
    defenses: { firewall: 0, mfa: 0, training: 0 },
    requests: [],
    stats: emptyStats(),
    rejected: 0,
    rejectedByReason: noRejections(),
    config: parsed,
    rng: rngFromSeed(seed).state(),
  };
}

/** "The DMZ: Archive Gate", rules version 1. See docs/game/archive-gate.md. */
export const archiveGateV1: GameRules<GateState, typeof gateEventTypes> = {
  name: 'archive-gate',
  version: 1,
  eventTypes: gateEventTypes,
  upcasters: gateUpcasters,
  dayBoundaryTypes: ['day.ended'],
  initialState: initialGateState,
  evolve: evolveGate,
  rejectReasons: REJECT_REASONS,
  verdict(before, after) {
    const reason = rejectionOf(before, after);
    return reason === undefined ? { accepted: true } : { accepted: false, reason };
  },
  score: (state) => state.score,
  analyticsFields: gateAnalyticsFields,
};
