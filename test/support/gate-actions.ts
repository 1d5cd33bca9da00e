import fc from 'fast-check';
import { createFolder } from '../../replay/index.js';
import type { FoldSession, ReplayEvent } from '../../replay/index.js';
import { archiveGateV1 } from '../../src/game/index.js';
import type { GateState } from '../../src/game/index.js';

/**
 * An abstract move; `toEvents` turns a list of them into concrete events by playing them against
 * the live state, so generated sessions play the game for real (and still include refused moves).
 */
export type Move =
  | { kind: 'work'; pick: number; decision: 'approve' | 'deny' | 'flag'; old: boolean }
  | { kind: 'investigate'; pick: number }
  | { kind: 'buy'; defense: 'firewall' | 'mfa' | 'training' }
  | { kind: 'end-day'; seed: string }
  | { kind: 'start-day' }
  | { kind: 'bogus'; pick: number };

export const moveArb: fc.Arbitrary<Move> = fc.oneof(
  {
    weight: 14,
    arbitrary: fc.record({
      kind: fc.constant('work' as const),
      pick: fc.nat(11),
      decision: fc.constantFrom('approve' as const, 'deny' as const, 'flag' as const),
      old: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('investigate' as const), pick: fc.nat(11) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('buy' as const),
      defense: fc.constantFrom('firewall' as const, 'mfa' as const, 'training' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('end-day' as const),
      seed: fc.stringMatching(/^[0-9a-f]{1,16}$/),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'start-day' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bogus' as const), pick: fc.nat(99) }) },
);

export type GateSession = { session: FoldSession; moves: Move[]; endSession: boolean };

export const gateSessionArb: fc.Arbitrary<GateSession> = fc.record({
  session: fc.record({
    sessionId: fc.uuid(),
    tenantId: fc.uuid(),
    seed: fc.string({ minLength: 1, maxLength: 40 }),
    rules: fc.constant('archive-gate'),
    rulesVersion: fc.constant(1),
    config: fc.record({
      requestsPerDay: fc
        .integer({ min: 2, max: 8 })
        .chain((min) => fc.record({ min: fc.constant(min), max: fc.integer({ min, max: 12 }) })),
      maliciousRateBp: fc.integer({ min: 0, max: 10_000 }),
      startingCredits: fc.integer({ min: 0, max: 5_000 }),
    }),
  }),
  moves: fc.array(moveArb, { maxLength: 400, size: 'max' }),
  endSession: fc.boolean(),
});

type Draft = Omit<ReplayEvent, 'sequence' | 'eventId'>;

function concrete(state: GateState, move: Move): Draft {
  const pending = state.requests.filter((r) => r.status === 'pending');
  const natural: Draft =
    state.phase === 'open'
      ? { type: 'day.ended', version: 1, data: { seed: `n${state.day}` } }
      : { type: 'day.started', version: 1, data: {} };
  switch (move.kind) {
    case 'work': {
      const request = pending[move.pick % Math.max(1, pending.length)];
      if (request === undefined) return natural;
      if (move.old && move.decision !== 'flag')
        return {
          type: 'request.decided',
          version: 1,
          data: { requestId: request.id, approved: move.decision === 'approve' },
        };
      return {
        type: 'request.decided',
        version: 2,
        data: { requestId: request.id, decision: move.decision },
      };
    }
    case 'investigate': {
      const request = pending[move.pick % Math.max(1, pending.length)];
      return request === undefined
        ? natural
        : { type: 'request.investigated', version: 1, data: { requestId: request.id } };
    }
    case 'buy':
      return { type: 'defense.purchased', version: 1, data: { defense: move.defense } };
    case 'end-day':
      return { type: 'day.ended', version: 1, data: { seed: move.seed } };
    case 'start-day':
      return { type: 'day.started', version: 1, data: {} };
    case 'bogus':
      return {
        type: 'request.decided',
        version: 2,
        data: { requestId: `d${state.day}-r${move.pick + 20}`, decision: 'approve' },
      };
  }
}

/** Plays the moves against the live state; returns the events and the number the rules refused. */
export function toEvents(g: GateSession): { events: ReplayEvent[]; rejected: number } {
  const folder = createFolder(archiveGateV1, g.session);
  const events: ReplayEvent[] = [];
  const drafts = g.moves.map((move) => () => concrete(folder.state as GateState, move));
  if (g.endSession) drafts.push(() => ({ type: 'session.ended', version: 1, data: {} }));
  for (const draft of drafts) {
    const event = { ...draft(), sequence: events.length + 1, eventId: `e${events.length + 1}` };
    folder.apply(event);
    events.push(event);
  }
  return { events, rejected: (folder.state as GateState).rejected };
}
