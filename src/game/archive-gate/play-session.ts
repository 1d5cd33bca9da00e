import { rngFromSeed } from '../rng.js';
import type { Rng } from '../rng.js';
import { initialGateState } from './archive-gate.rules.js';
import { DEFENSE_NAMES, MAX_DEFENSE_LEVEL } from './balance.js';
import { DEFAULT_SKILL_BP, drawEventSeed, planNextEvents } from './bot.js';
import { evolveGate } from './evolve.js';
import { gateEventTypes, upcastToLatest } from './event-types.js';
import type { GateEventInput } from './event-types.js';
import type { GateState } from './state.js';

export type PlayOptions = {
  /** Basis points: how often the bot knows the right decision. */
  skill?: number;
  /** Every Nth event is one the rules reject (an unknown request, a second day.started, ...). */
  rejectedEveryN?: number;
  /** Every Nth approve-or-deny decision is written as the old request.decided v1. */
  oldVersionEveryN?: number;
};

/**
 * Folds one event input as the replay engine does: upcast to the newest version, then evolve
 * with the event's own stream when its type consumes randomness (null without a usable seed).
 */
export function applyGateEvent(
  state: GateState,
  input: GateEventInput,
  sequence: number,
): GateState {
  const event = upcastToLatest({ sequence, ...input });
  const consumes = gateEventTypes.find(event.type, event.version)?.consumesRandomness === true;
  const seed = event.data.seed;
  const rng = consumes && typeof seed === 'string' && seed.length > 0 ? rngFromSeed(seed) : null;
  return evolveGate(state, event, rng);
}

/** The state after `inputs`, folded from the session's initial state. */
export function foldGateEvents(
  seed: string,
  config: Record<string, unknown>,
  inputs: readonly GateEventInput[],
): GateState {
  let state = initialGateState(seed, config);
  inputs.forEach((input, i) => {
    state = applyGateEvent(state, input, i + 1);
  });
  return state;
}

/**
 * An event the rules refuse in `state`, chosen with the bot's stream. playSession also falls back
 * on it once the session has ended, so it always returns exactly the events asked for.
 */
export function rejectableEvent(state: GateState, rng: Rng): GateEventInput {
  const ghost = `d${state.day}-r99`;
  const candidates: GateEventInput[] = [
    { type: 'request.decided', version: 2, data: { requestId: ghost, decision: 'approve' } },
    { type: 'request.investigated', version: 1, data: { requestId: ghost } },
  ];
  if (state.phase === 'open') candidates.push({ type: 'day.started', version: 1, data: {} });
  else candidates.push({ type: 'day.ended', version: 1, data: { seed: drawEventSeed(rng) } });
  const decided = state.requests.find((r) => r.status !== 'pending');
  if (decided !== undefined) {
    candidates.push({
      type: 'request.decided',
      version: 2,
      data: { requestId: decided.id, decision: 'deny' },
    });
  }
  const maxed = DEFENSE_NAMES.find((name) => state.defenses[name] >= MAX_DEFENSE_LEVEL);
  if (maxed !== undefined) {
    candidates.push({ type: 'defense.purchased', version: 1, data: { defense: maxed } });
  }
  return rng.pick(candidates);
}

function asOldVersion(event: GateEventInput): GateEventInput {
  const { requestId, decision } = event.data;
  return {
    type: 'request.decided',
    version: 1,
    data: { requestId, approved: decision === 'approve' },
  };
}

function isOldExpressible(event: GateEventInput): boolean {
  return (
    event.type === 'request.decided' &&
    event.version === 2 &&
    (event.data.decision === 'approve' || event.data.decision === 'deny')
  );
}

/**
 * Plays `eventCount` events of a session with the bot, folding as it goes, and returns the event
 * inputs. Deterministic in (seed, config, eventCount, botSeed, options): fixtures, the demo and
 * property tests rely on it.
 */
export function playSession(
  seed: string,
  config: Record<string, unknown>,
  eventCount: number,
  botSeed: string,
  options: PlayOptions = {},
): GateEventInput[] {
  const { skill = DEFAULT_SKILL_BP, rejectedEveryN = 0, oldVersionEveryN = 0 } = options;
  const rng = rngFromSeed(botSeed);
  const events: GateEventInput[] = [];
  let state = initialGateState(seed, config);
  let oldCandidates = 0;
  while (events.length < eventCount) {
    const n = events.length + 1;
    const injectRejected = rejectedEveryN > 0 && n % rejectedEveryN === 0;
    let event =
      (injectRejected ? undefined : planNextEvents(state, rng, skill)[0]) ??
      rejectableEvent(state, rng);
    if (!injectRejected && isOldExpressible(event)) {
      oldCandidates += 1;
      const writeOld = oldVersionEveryN > 0 && oldCandidates % oldVersionEveryN === 0;
      if (writeOld) event = asOldVersion(event);
    }
    events.push(event);
    state = applyGateEvent(state, event, n);
  }
  return events;
}
