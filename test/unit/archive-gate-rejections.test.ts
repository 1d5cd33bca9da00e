import { describe, expect, it } from 'vitest';
import { rngFromSeed } from '../../src/game/index.js';
import type { GameEvent, Rng } from '../../src/game/index.js';
import { archiveGateV1, REJECT_REASONS } from '../../src/game/archive-gate/index.js';
import type { GateRequest, GateState, RejectReason } from '../../src/game/archive-gate/index.js';

const base = archiveGateV1.initialState('seed-r', {});

const pending: GateRequest = {
  id: 'd1-r1',
  requester: 'Ines Duarte',
  claimedRole: 'auditor',
  indicators: ['urgent_tone'],
  revealed: 0,
  malicious: true,
  value: 90,
  status: 'pending',
};

const open = (over: Partial<GateState> = {}): GateState => ({
  ...base,
  day: 1,
  phase: 'open',
  requests: [pending],
  ...over,
});

const event = (type: string, data: Record<string, unknown>, version = 1): GameEvent => ({
  sequence: 7,
  type,
  version,
  data,
});

type Case = {
  name: string;
  reason: RejectReason;
  state: GateState;
  event: GameEvent;
  rng?: Rng | null;
};

const decide = (requestId: string) =>
  event('request.decided', { requestId, decision: 'approve' }, 2);

const cases: Case[] = [
  {
    name: 'an unknown event type',
    reason: 'invalid_event',
    state: open(),
    event: event('coffee.brewed', {}),
  },
  {
    name: 'data that fails the newest schema',
    reason: 'invalid_event',
    state: open(),
    event: event('request.decided', { requestId: 'd1-r1' }, 2),
  },
  {
    name: 'a version the rules do not know',
    reason: 'invalid_event',
    state: open(),
    event: event('day.started', {}, 9),
  },
  {
    name: 'any action after the session ended',
    reason: 'session_ended',
    state: open({ phase: 'ended' }),
    event: event('day.started', {}),
  },
  {
    name: 'ending a session twice',
    reason: 'session_ended',
    state: { ...base, phase: 'ended' },
    event: event('session.ended', {}),
  },
  { name: 'deciding with no open day', reason: 'no_open_day', state: base, event: decide('d1-r1') },
  {
    name: 'investigating with no open day',
    reason: 'no_open_day',
    state: base,
    event: event('request.investigated', { requestId: 'd1-r1' }),
  },
  {
    name: 'ending a day that is not open',
    reason: 'no_open_day',
    state: base,
    event: event('day.ended', { seed: 's' }),
    rng: rngFromSeed('s'),
  },
  {
    name: 'starting a second day',
    reason: 'day_already_open',
    state: open(),
    event: event('day.started', {}),
  },
  {
    name: 'deciding an unknown request',
    reason: 'unknown_request',
    state: open(),
    event: decide('d1-r9'),
  },
  {
    name: 'investigating an unknown request',
    reason: 'unknown_request',
    state: open(),
    event: event('request.investigated', { requestId: 'nope' }),
  },
  {
    name: 'deciding a request twice',
    reason: 'already_decided',
    state: open({ requests: [{ ...pending, status: 'denied' }] }),
    event: decide('d1-r1'),
  },
  {
    name: 'investigating a decided request',
    reason: 'already_decided',
    state: open({ requests: [{ ...pending, status: 'flagged' }] }),
    event: event('request.investigated', { requestId: 'd1-r1' }),
  },
  {
    name: 'investigating with every indicator revealed',
    reason: 'nothing_to_reveal',
    state: open({ requests: [{ ...pending, revealed: 1 }] }),
    event: event('request.investigated', { requestId: 'd1-r1' }),
  },
  {
    name: 'investigating without the credits',
    reason: 'insufficient_credits',
    state: open({ credits: 49 }),
    event: event('request.investigated', { requestId: 'd1-r1' }),
  },
  {
    name: 'buying a defense without the credits',
    reason: 'insufficient_credits',
    state: { ...base, credits: 399, defenses: { firewall: 0, mfa: 1, training: 0 } },
    event: event('defense.purchased', { defense: 'mfa' }),
  },
  {
    name: 'buying a fourth level',
    reason: 'max_level',
    state: { ...base, credits: 99_999, defenses: { firewall: 0, mfa: 0, training: 3 } },
    event: event('defense.purchased', { defense: 'training' }),
  },
  {
    name: 'a day.ended with an empty seed (the schema wants one)',
    reason: 'invalid_event',
    state: open(),
    event: event('day.ended', { seed: '' }),
    rng: null,
  },
  {
    name: 'a day.ended folded without its stream',
    reason: 'missing_randomness',
    state: open(),
    event: event('day.ended', { seed: 's' }),
    rng: null,
  },
];

describe('archive-gate rejections', () => {
  it.each(cases)('refuses $name as $reason, changing only the counters', (c) => {
    const after = archiveGateV1.evolve(c.state, c.event, c.rng ?? null);
    expect(after).toEqual({
      ...c.state,
      rejected: c.state.rejected + 1,
      rejectedByReason: {
        ...c.state.rejectedByReason,
        [c.reason]: c.state.rejectedByReason[c.reason] + 1,
      },
    });
  });

  it('has a case for every rejection reason', () => {
    const covered = new Set(cases.map((c) => c.reason));
    expect(REJECT_REASONS.filter((r) => !covered.has(r))).toEqual([]);
  });

  it('keeps a counter for every reason from the first state on', () => {
    expect(Object.keys(base.rejectedByReason).sort()).toEqual([...REJECT_REASONS].sort());
  });

  it('accepts the same action once the reason is gone', () => {
    const ok = archiveGateV1.evolve(
      open({ credits: 50 }),
      event('request.investigated', { requestId: 'd1-r1' }),
      null,
    );
    expect(ok.rejected).toBe(0);
    expect(ok.credits).toBe(0);
  });
});
