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

/** Folds a refused action: nothing changes but the rejection counters. */
/**
 * A copy of `counts` with `key` one higher. Assigning an existing key of a fresh copy keeps the
 * object's shape; a computed key in a literal (`{ ...o, [k]: v }`) would not, and folds slow down.
 */
export function increment<T extends Record<K, number>, K extends keyof T>(
  counts: T,
  key: K,
  by = 1,
): T {
  const copy = { ...counts };
  copy[key] = (counts[key] + by) as T[K];
  return copy;
}

export function reject(state: GateState, reason: RejectReason): GateState {
  return {
    ...state,
    rejected: state.rejected + 1,
    rejectedByReason: increment(state.rejectedByReason, reason),
  };
}
