import type { GameEvent } from '../rules.js';
import type { Rng } from '../rng.js';
import { sessionEndedV1 } from '../../events/index.js';
import { DEFENSE_COSTS, MAX_DEFENSE_LEVEL } from './balance.js';
import { drawDay } from './day.js';
import { settleDay } from './end-day.js';
import {
  dayEndedV1,
  dayStartedV1,
  defensePurchasedV1,
  gateEventTypes,
  requestDecidedV2,
  requestInvestigatedV1,
  upcastToLatest,
} from './event-types.js';
import { increment, reject } from './state.js';
import type { Decision, DefenseName, GateRequest, GateState } from './state.js';

/** A stored event, checked against its newest schema and typed. */
type GateAction =
  | { type: 'day.started' }
  | { type: 'request.decided'; requestId: string; decision: Decision }
  | { type: 'request.investigated'; requestId: string }
  | { type: 'defense.purchased'; defense: DefenseName }
  | { type: 'day.ended' }
  | { type: 'session.ended' };

/** Undefined for anything evolve cannot read: an unknown type, an old version, bad data. */
function toAction(event: GameEvent): GateAction | undefined {
  const { type, version, data } = upcastToLatest(event);
  if (version !== gateEventTypes.latestVersion(type)) return undefined;
  switch (type) {
    case 'day.started':
      return dayStartedV1.safeParse(data).success ? { type: 'day.started' } : undefined;
    case 'request.decided': {
      const parsed = requestDecidedV2.safeParse(data);
      return parsed.success ? { type: 'request.decided', ...parsed.data } : undefined;
    }
    case 'request.investigated': {
      const parsed = requestInvestigatedV1.safeParse(data);
      return parsed.success ? { type: 'request.investigated', ...parsed.data } : undefined;
    }
    case 'defense.purchased': {
      const parsed = defensePurchasedV1.safeParse(data);
      return parsed.success ? { type: 'defense.purchased', ...parsed.data } : undefined;
    }
    case 'day.ended':
      return dayEndedV1.safeParse(data).success ? { type: 'day.ended' } : undefined;
    case 'session.ended':
      return sessionEndedV1.schema.safeParse(data).success ? { type: 'session.ended' } : undefined;
    default:
      return undefined;
  }
}

const STATUS_BY_DECISION = { approve: 'approved', deny: 'denied', flag: 'flagged' } as const;

function startDay(state: GateState): GateState {
  if (state.phase === 'open') return reject(state, 'day_already_open');
  const day = state.day + 1;
  const { requests, rng } = drawDay(state, day);
  return { ...state, day, phase: 'open', requests, rng };
}

function replaceAt(requests: GateRequest[], index: number, next: GateRequest): GateRequest[] {
  return requests.map((request, i) => (i === index ? next : request));
}

/** The pending request an action is about, or the reason the action is refused. */
function pendingRequest(
  state: GateState,
  requestId: string,
):
  | { index: number; request: GateRequest }
  | { reason: 'no_open_day' | 'unknown_request' | 'already_decided' } {
  if (state.phase !== 'open') return { reason: 'no_open_day' };
  const index = state.requests.findIndex((r) => r.id === requestId);
  const request = state.requests[index];
  if (request === undefined) return { reason: 'unknown_request' };
  if (request.status !== 'pending') return { reason: 'already_decided' };
  return { index, request };
}

function decide(state: GateState, requestId: string, decision: Decision): GateState {
  const found = pendingRequest(state, requestId);
  if ('reason' in found) return reject(state, found.reason);
  const status = STATUS_BY_DECISION[decision];
  return {
    ...state,
    requests: replaceAt(state.requests, found.index, { ...found.request, status }),
    stats: increment(state.stats, status),
  };
}

function investigate(state: GateState, requestId: string): GateState {
  const found = pendingRequest(state, requestId);
  if ('reason' in found) return reject(state, found.reason);
  const { index, request } = found;
  if (request.revealed >= request.indicators.length) return reject(state, 'nothing_to_reveal');
  const cost = state.config.investigateCost;
  if (state.credits < cost) return reject(state, 'insufficient_credits');
  return {
    ...state,
    credits: state.credits - cost,
    requests: replaceAt(state.requests, index, { ...request, revealed: request.revealed + 1 }),
    stats: { ...state.stats, investigated: state.stats.investigated + 1 },
  };
}

function purchase(state: GateState, defense: DefenseName): GateState {
  const level = state.defenses[defense];
  const cost = DEFENSE_COSTS[level];
  if (level >= MAX_DEFENSE_LEVEL || cost === undefined) return reject(state, 'max_level');
  if (state.credits < cost) return reject(state, 'insufficient_credits');
  return {
    ...state,
    credits: state.credits - cost,
    defenses: increment(state.defenses, defense),
    stats: { ...state.stats, purchases: state.stats.purchases + 1 },
  };
}

function endDay(state: GateState, rng: Rng | null): GateState {
  if (state.phase !== 'open') return reject(state, 'no_open_day');
  if (rng === null) return reject(state, 'missing_randomness');
  return settleDay(state, rng);
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
      return { ...state, phase: 'ended' };
  }
}
