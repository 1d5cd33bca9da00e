import type { Rng } from '../rng.js';
import {
  BREACH_BASE_BP,
  BREACH_CREDIT_LOSS,
  BREACH_FLOOR_BP,
  BREACH_REDUCTION_BP,
  BREACH_TRUST_LOSS,
  DAY_COMPLETED_SCORE,
  DEFENSE_NAMES,
  IGNORED_TRUST_LOSS,
  LEGIT_OUTCOMES,
  MALICIOUS_OUTCOMES,
  MAX_TRUST,
} from './balance.js';
import { copyState, copyStats } from './state.js';
import type { Decision, GateDefenses, GateRequest, GateState, GateStats } from './state.js';

const DECISION_BY_STATUS = { approved: 'approve', denied: 'deny', flagged: 'flag' } as const;

/** The odds, in basis points, that one approved attack breaches the archive tonight. */
export function breachOddsBp(defenses: GateDefenses): number {
  let bp = BREACH_BASE_BP;
  for (const name of DEFENSE_NAMES) bp -= BREACH_REDUCTION_BP[name] * defenses[name];
  return Math.max(BREACH_FLOOR_BP, bp);
}

type Tally = { credits: number; trust: number; score: number; stats: GateStats };

function clampTrust(trust: number): number {
  return Math.min(MAX_TRUST, Math.max(0, trust));
}

function settleDecided(tally: Tally, request: GateRequest, decision: Decision): void {
  const outcome = (request.malicious ? MALICIOUS_OUTCOMES : LEGIT_OUTCOMES)[decision];
  tally.credits += outcome.paysValue ? request.value : 0;
  tally.trust = clampTrust(tally.trust + outcome.trust);
  tally.score += outcome.score;
  if (outcome.correct) tally.stats.correct += 1;
  else tally.stats.mistakes += 1;
}

function settleBreach(tally: Tally): void {
  tally.stats.breaches += 1;
  tally.credits = Math.max(0, tally.credits - BREACH_CREDIT_LOSS);
  tally.trust = clampTrust(tally.trust - BREACH_TRUST_LOSS);
}

/**
 * Settles the open day with the day.ended event's own stream: one `chance` draw per approved
 * attack, in request order, and no other draw. Requires an open day; returns a new state.
 */
export function settleDay(state: GateState, rng: Rng): GateState {
  const odds = breachOddsBp(state.defenses);
  const tally: Tally = {
    credits: state.credits,
    trust: state.trust,
    score: state.score,
    stats: copyStats(state.stats),
  };
  for (const request of state.requests) {
    if (request.status === 'pending') {
      tally.stats.ignored += 1;
      tally.trust = clampTrust(tally.trust - IGNORED_TRUST_LOSS);
      continue;
    }
    settleDecided(tally, request, DECISION_BY_STATUS[request.status]);
    if (request.malicious && request.status === 'approved' && rng.chance(odds)) {
      settleBreach(tally);
    }
  }
  tally.stats.daysCompleted += 1;
  const next = copyState(state);
  next.phase = 'idle';
  next.requests = [];
  next.credits = tally.credits;
  next.trust = tally.trust;
  next.score = tally.score + DAY_COMPLETED_SCORE;
  next.stats = tally.stats;
  return next;
}
