import type { RngState } from '../rng.js';
import type { GateConfig } from './config.js';

export type GatePhase = 'idle' | 'open' | 'ended';
export type Decision = 'approve' | 'deny' | 'flag';
export type RequestStatus = 'pending' | 'approved' | 'denied' | 'flagged';
export type DefenseName = 'firewall' | 'mfa' | 'training';

/** Every reason the rules refuse an action; each is a key of `rejectedByReason` from the start. */
export const REJECT_REASONS = [
  'invalid_event',
  'session_ended',
  'no_open_day',
  'day_already_open',
  'unknown_request',
  'already_decided',
  'nothing_to_reveal',
  'insufficient_credits',
  'max_level',
  'missing_randomness',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One access request of the current day. */
export type GateRequest = {
  /** `d<day>-r<n>`, n from 1. */
  id: string;
  requester: string;
  claimedRole: string;
  /** All of the request's indicators; the player has seen the first `revealed` of them. */
  indicators: string[];
  revealed: number;
  /** Hidden from the player: whether the request is an attack. */
  malicious: boolean;
  /** Credits the request pays when it is legit and approved. */
  value: number;
  status: RequestStatus;
};

export type GateDefenses = { firewall: number; mfa: number; training: number };

export type GateStats = {
  approved: number;
  denied: number;
  flagged: number;
  investigated: number;
  ignored: number;
  breaches: number;
  correct: number;
  mistakes: number;
  purchases: number;
  daysCompleted: number;
};

/** The whole game state: plain JSON, integers only, hashed as it is. */
export type GateState = {
  /** The current (or last) day's number; 0 before the first day. */
  day: number;
  phase: GatePhase;
  credits: number;
  /** 0..100. */
  trust: number;
  score: number;
  defenses: GateDefenses;
  /** The open day's requests; empty between days. */
  requests: GateRequest[];
  stats: GateStats;
  rejected: number;
  rejectedByReason: Record<RejectReason, number>;
  config: GateConfig;
  /** The session stream (seeded by the session's seed); day.started draws from it. */
  rng: RngState;
};

export function emptyStats(): GateStats {
  return {
    approved: 0,
    denied: 0,
    flagged: 0,
    investigated: 0,
    ignored: 0,
    breaches: 0,
    correct: 0,
    mistakes: 0,
    purchases: 0,
    daysCompleted: 0,
  };
}

export function noRejections(): Record<RejectReason, number> {
  const counts: Partial<Record<RejectReason, number>> = {};
  for (const reason of REJECT_REASONS) counts[reason] = 0;
  return counts as Record<RejectReason, number>;
}

/*
 * Copies are written out field by field rather than spread: V8 clones a spread of these objects
 * about twenty times slower than it builds a literal, and every state then has the same shape.
 * A fold changes only the fresh copy it returns, never the state it was given.
 */

export function copyState(s: GateState): GateState {
  return {
    day: s.day,
    phase: s.phase,
    credits: s.credits,
    trust: s.trust,
    score: s.score,
    defenses: s.defenses,
    requests: s.requests,
    stats: s.stats,
    rejected: s.rejected,
    rejectedByReason: s.rejectedByReason,
    config: s.config,
    rng: s.rng,
  };
}

export function copyStats(s: GateStats): GateStats {
  return {
    approved: s.approved,
    denied: s.denied,
    flagged: s.flagged,
    investigated: s.investigated,
    ignored: s.ignored,
    breaches: s.breaches,
    correct: s.correct,
    mistakes: s.mistakes,
    purchases: s.purchases,
    daysCompleted: s.daysCompleted,
  };
}

export function copyRequest(r: GateRequest): GateRequest {
  return {
    id: r.id,
    requester: r.requester,
    claimedRole: r.claimedRole,
    indicators: r.indicators,
    revealed: r.revealed,
    malicious: r.malicious,
    value: r.value,
    status: r.status,
  };
}

function copyRejections(r: Record<RejectReason, number>): Record<RejectReason, number> {
  return {
    invalid_event: r.invalid_event,
    session_ended: r.session_ended,
    no_open_day: r.no_open_day,
    day_already_open: r.day_already_open,
    unknown_request: r.unknown_request,
    already_decided: r.already_decided,
    nothing_to_reveal: r.nothing_to_reveal,
    insufficient_credits: r.insufficient_credits,
    max_level: r.max_level,
    missing_randomness: r.missing_randomness,
  };
}

/** Folds a refused action: nothing changes but the rejection counters. */
export function reject(state: GateState, reason: RejectReason): GateState {
  const next = copyState(state);
  next.rejected = state.rejected + 1;
  next.rejectedByReason = copyRejections(state.rejectedByReason);
  next.rejectedByReason[reason] += 1;
  return next;
}

/**
 * The reason the fold from `before` to `after` rejected its event, if it did: the one counter
 * `reject` raised. Reads the states only, so it agrees with the fold by construction.
 */
export function rejectionOf(before: GateState, after: GateState): RejectReason | undefined {
  if (after.rejected === before.rejected) return undefined;
  return REJECT_REASONS.find(
    (reason) => after.rejectedByReason[reason] !== before.rejectedByReason[reason],
  );
}
