import type { GameEvent } from '../rules.js';
import type { Rng } from '../rng.js';
import { DEFENSE_COSTS, MAX_DEFENSE_LEVEL } from './balance.js';
import { drawDay } from './day.js';
import { settleDay } from './end-day.js';
import { toAction } from './gate-action.js';
import { copyRequest, copyState, copyStats, reject } from './state.js';
import type { Decision, DefenseName, GateRequest, GateState } from './state.js';

const STATUS_BY_DECISION = { approve: 'approved', deny: 'denied', flag: 'flagged' } as const;

function startDay(state: GateState): GateState {
  if (state.phase === 'open') return reject(state, 'day_already_open');
  const next = copyState(state);
  next.day = state.day + 1;
  next.phase = 'open';
  const drawn = drawDay(state, next.day);
  next.requests = drawn.requests;
  next.rng = drawn.rng;
  return next;
}

type RefusedAction = 'no_open_day' | 'unknown_request' | 'already_decided';

/** The index of the pending request an action is about, or the reason the action is refused. */
function pendingIndex(state: GateState, requestId: string): number | RefusedAction {
  if (state.phase !== 'open') return 'no_open_day';
  const { requests } = state;
  for (let i = 0; i < requests.length; i += 1) {
    const request = requests[i] as GateRequest;
    if (request.id !== requestId) continue;
    return request.status === 'pending' ? i : 'already_decided';
  }
  return 'unknown_request';
}

/** A copy of the requests with a copy of the one at `index`, ready to change. */
function requestsWithCopyAt(state: GateState, index: number): [GateRequest[], GateRequest] {
  const requests = state.requests.slice();
  const request = copyRequest(requests[index] as GateRequest);
  requests[index] = request;
  return [requests, request];
}

function decide(state: GateState, requestId: string, decision: Decision): GateState {
  const index = pendingIndex(state, requestId);
  if (typeof index === 'string') return reject(state, index);
  const status = STATUS_BY_DECISION[decision];
  const next = copyState(state);
  const [requests, request] = requestsWithCopyAt(state, index);
  request.status = status;
  next.requests = requests;
  next.stats = copyStats(state.stats);
  next.stats[status] += 1;
  return next;
}

function investigate(state: GateState, requestId: string): GateState {
  const index = pendingIndex(state, requestId);
  if (typeof index === 'string') return reject(state, index);
  const found = state.requests[index] as GateRequest;
  if (found.revealed >= found.indicators.length) return reject(state, 'nothing_to_reveal');
  const cost = state.config.investigateCost;
  if (state.credits < cost) return reject(state, 'insufficient_credits');
  const next = copyState(state);
  const [requests, request] = requestsWithCopyAt(state, index);
  request.revealed += 1;
  next.requests = requests;
  next.credits = state.credits - cost;
  next.stats = copyStats(state.stats);
  next.stats.investigated += 1;
  return next;
}

function purchase(state: GateState, defense: DefenseName): GateState {
  const level = state.defenses[defense];
  const cost = DEFENSE_COSTS[level];
  if (level >= MAX_DEFENSE_LEVEL || cost === undefined) return reject(state, 'max_level');
  if (state.credits < cost) return reject(state, 'insufficient_credits');
  const next = copyState(state);
  next.credits = state.credits - cost;
  next.defenses = { ...state.defenses };
  next.defenses[defense] = level + 1;
  next.stats = copyStats(state.stats);
  next.stats.purchases += 1;
  return next;
}

function endDay(state: GateState, rng: Rng | null): GateState {
  if (state.phase !== 'open') return reject(state, 'no_open_day');
  if (rng === null) return reject(state, 'missing_randomness');
  return settleDay(state, rng);
}

function endSession(state: GateState): GateState {
  const next = copyState(state);
  next.phase = 'ended';
  return next;
}

/**
 * Folds one event into a new state; never mutates `state` and never throws for a stored event.
 * An action the rules refuse changes nothing but the rejection counters. `rng` is the event's
 * own stream: day.ended needs it, the other types ignore it.
 */
export function evolveGate(state: GateState, event: GameEvent, rng: Rng | null): GateState {
  const action = toAction(event);
  if (action === undefined) return reject(state, 'invalid_event');
  if (state.phase === 'ended') return reject(state, 'session_ended');
  switch (action.type) {
    case 'day.started':
      return startDay(state);
    case 'request.decided':
      return decide(state, action.requestId, action.decision);
    case 'request.investigated':
      return investigate(state, action.requestId);
    case 'defense.purchased':
      return purchase(state, action.defense);
    case 'day.ended':
      return endDay(state, rng);
    case 'session.ended':
      return endSession(state);
  }
}
