import type { Rng } from '../rng.js';
import { DEFENSE_COSTS, DEFENSE_NAMES, MAX_DEFENSE_LEVEL } from './balance.js';
import type { GateEventInput } from './event-types.js';
import type { Decision, DefenseName, GateRequest, GateState } from './state.js';

/** The bot's default skill: it knows the right answer 80% of the time. */
export const DEFAULT_SKILL_BP = 8000;
const INVESTIGATE_BP = 3000;
const PURCHASE_BP = 1500;
/** The bot keeps this much after a purchase. */
const PURCHASE_RESERVE = 500;
const DECISIONS: readonly Decision[] = ['approve', 'deny', 'flag'];

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** A 16-hex-digit seed for a day.ended event, drawn from the bot's own stream. */
export function drawEventSeed(rng: Rng): string {
  return hex8(rng.below(2 ** 32)) + hex8(rng.below(2 ** 32));
}

/** The cheapest defense not yet at its top level, if the bot can afford it with money to spare. */
function affordableDefense(state: GateState): DefenseName | undefined {
  let best: DefenseName | undefined;
  for (const name of DEFENSE_NAMES) {
    const level = state.defenses[name];
    if (level >= MAX_DEFENSE_LEVEL) continue;
    if (best === undefined || level < state.defenses[best]) best = name;
  }
  if (best === undefined) return undefined;
  const cost = DEFENSE_COSTS[state.defenses[best]] ?? Number.MAX_SAFE_INTEGER;
  return state.credits >= cost + PURCHASE_RESERVE ? best : undefined;
}

function decideFor(request: GateRequest, rng: Rng, skill: number): Decision {
  if (!rng.chance(skill)) return rng.pick(DECISIONS);
  if (!request.malicious) return 'approve';
  return rng.chance(5000) ? 'flag' : 'deny';
}

function handleRequest(
  state: GateState,
  request: GateRequest,
  rng: Rng,
  skill: number,
): GateEventInput {
  const canInvestigate =
    request.revealed < request.indicators.length && state.credits >= state.config.investigateCost;
  if (canInvestigate && rng.chance(INVESTIGATE_BP)) {
    return { type: 'request.investigated', version: 1, data: { requestId: request.id } };
  }
  const decision = decideFor(request, rng, skill);
  return { type: 'request.decided', version: 2, data: { requestId: request.id, decision } };
}

/**
 * The bot's next move (at most one event; none once the session has ended). It starts a day when
 * none is open, works through the pending requests (sometimes investigating first, then deciding:
 * right with probability `skill` basis points, using the hidden flag, otherwise at random),
 * sometimes buys a defense when rich, and ends the day with a seed drawn from `rng`. Every
 * event it plans passes the registry's schemas and, folded in order, is accepted by the rules.
 */
export function planNextEvents(
  state: GateState,
  rng: Rng,
  skill: number = DEFAULT_SKILL_BP,
): GateEventInput[] {
  if (state.phase === 'ended') return [];
  const defense = affordableDefense(state);
  if (defense !== undefined && rng.chance(PURCHASE_BP)) {
    return [{ type: 'defense.purchased', version: 1, data: { defense } }];
  }
  if (state.phase === 'idle') return [{ type: 'day.started', version: 1, data: {} }];
  const pending = state.requests.find((r) => r.status === 'pending');
  if (pending === undefined) {
    return [{ type: 'day.ended', version: 1, data: { seed: drawEventSeed(rng) } }];
  }
  return [handleRequest(state, pending, rng, skill)];
}
