import type { RngState } from 'agate';
import type { CropName, Weather } from './balance.js';
import type { HarvestConfig } from './config.js';

/** Every reason the rules refuse an action; each is a key of `rejectedByReason` from the start. */
export const REJECT_REASONS = [
  'invalid_event',
  'session_ended',
  'no_open_round',
  'round_already_open',
  'unknown_field',
  'field_occupied',
  'insufficient_coins',
  'nothing_to_harvest',
  'not_ripe',
  'missing_randomness',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type Field = { crop: CropName | 'none'; growth: number };

/** The whole state: plain JSON, integers only, hashed as it is. */
export type HarvestState = {
  /** The current (or last) round; 0 before the first. */
  round: number;
  phase: 'idle' | 'open' | 'ended';
  weather: Weather;
  coins: number;
  score: number;
  fields: Field[];
  harvests: number;
  blighted: number;
  rejected: number;
  rejectedByReason: Record<RejectReason, number>;
  config: HarvestConfig;
  /** The session stream (seeded by the session's seed): round.started draws the weather from it. */
  rng: RngState;
};

export function noRejections(): Record<RejectReason, number> {
  const counts: Partial<Record<RejectReason, number>> = {};
  for (const reason of REJECT_REASONS) counts[reason] = 0;
  return counts as Record<RejectReason, number>;
}

/** Folds a refused action: nothing changes but the rejection counters. */
export function reject(state: HarvestState, reason: RejectReason): HarvestState {
  return {
    ...state,
    rejected: state.rejected + 1,
    rejectedByReason: { ...state.rejectedByReason, [reason]: state.rejectedByReason[reason] + 1 },
  };
}

/** The reason the fold from `before` to `after` refused its event, if it did. */
export function rejectionOf(before: HarvestState, after: HarvestState): RejectReason | undefined {
  if (after.rejected === before.rejected) return undefined;
  return REJECT_REASONS.find(
    (reason) => after.rejectedByReason[reason] !== before.rejectedByReason[reason],
  );
}
