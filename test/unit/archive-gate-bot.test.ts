import { describe, expect, it } from 'vitest';
import { rngFromSeed } from '../../src/game/index.js';
import {
  applyGateEvent,
  archiveGateV1,
  foldGateEvents,
  gateEventTypes,
  planNextEvents,
  playSession,
} from '../../src/game/archive-gate/index.js';
import type { GateEventInput, GateState } from '../../src/game/archive-gate/index.js';

const botSeeds = ['bot-a', 'bot-b', 'bot-c', 'bot-d', 'bot-e'];

/** Folds `events` one by one and reports which of them the rules refused. */
function refusals(seed: string, events: readonly GateEventInput[]): number[] {
  let state = archiveGateV1.initialState(seed, {});
  const refused: number[] = [];
  events.forEach((e, i) => {
    const next = applyGateEvent(state, e, i + 1);
    if (next.rejected > state.rejected) refused.push(i + 1);
    state = next;
  });
  return refused;
}

describe('archive-gate bot', () => {
  it('plays exactly the number of events asked for, all valid against the registry', () => {
    const events = playSession('s1', {}, 300, 'bot-a', { rejectedEveryN: 7, oldVersionEveryN: 3 });
    expect(events).toHaveLength(300);
    for (const e of events) {
      const schema = gateEventTypes.find(e.type, e.version)?.schema;
      expect(schema?.safeParse(e.data).success).toBe(true);
    }
  });

  it.each(botSeeds)(
    'gets at least 70%% of its events accepted with default options (%s)',
    (bot) => {
      const events = playSession('session-1', {}, 500, bot);
      expect(refusals('session-1', events).length).toBeLessThanOrEqual(150);
    },
  );

  it.each(botSeeds)('completes at least 3 days in 200 events (%s)', (bot) => {
    const state = foldGateEvents('session-2', {}, playSession('session-2', {}, 200, bot));
    expect(state.stats.daysCompleted).toBeGreaterThanOrEqual(3);
  });

  it('injects a refused action exactly at every Nth event', () => {
    const events = playSession('session-3', {}, 120, 'bot-b', { rejectedEveryN: 10 });
    expect(refusals('session-3', events)).toEqual([
      10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120,
    ]);
  });

  it('writes old request.decided v1 events that fold to the same state as their v2 form', () => {
    const v2 = playSession('session-4', {}, 400, 'bot-c');
    const mixed = playSession('session-4', {}, 400, 'bot-c', { oldVersionEveryN: 2 });
    expect(
      mixed.filter((e) => e.type === 'request.decided' && e.version === 1).length,
    ).toBeGreaterThan(20);
    expect(foldGateEvents('session-4', {}, mixed)).toEqual(foldGateEvents('session-4', {}, v2));
  });

  it('is deterministic in its seeds', () => {
    expect(playSession('s', {}, 150, 'bot-d')).toEqual(playSession('s', {}, 150, 'bot-d'));
    expect(playSession('s', {}, 150, 'bot-d')).not.toEqual(playSession('s', {}, 150, 'bot-e'));
  });

  it('plays this exact session from pinned seeds (pins the bot and the rules)', () => {
    const events = playSession('pinned-session', {}, 40, 'pinned-bot');
    expect(events.slice(0, 4)).toEqual([
      { type: 'day.started', version: 1, data: {} },
      { type: 'defense.purchased', version: 1, data: { defense: 'firewall' } },
      { type: 'request.decided', version: 2, data: { requestId: 'd1-r1', decision: 'approve' } },
      { type: 'request.investigated', version: 1, data: { requestId: 'd1-r2' } },
    ]);
    expect(events[8]).toEqual({
      type: 'day.ended',
      version: 1,
      data: { seed: '5b6aa491095d4ec1' },
    });
    const state = foldGateEvents('pinned-session', {}, events);
    expect(state).toMatchObject({ day: 4, phase: 'open', score: 170, credits: 790, trust: 76 });
    expect(state.defenses).toEqual({ firewall: 2, mfa: 2, training: 1 });
    expect(state.rng).toEqual({ a: -453450082, b: 508706672, c: -1423162875, d: -1339781854 });
  });

  it('never errs when it always knows the answer, and errs when it never does', () => {
    const sharp = foldGateEvents('s', {}, playSession('s', {}, 300, 'bot-a', { skill: 10_000 }));
    const blind = foldGateEvents('s', {}, playSession('s', {}, 300, 'bot-a', { skill: 0 }));
    expect(sharp.stats.mistakes).toBe(0);
    expect(blind.stats.mistakes).toBeGreaterThan(blind.stats.correct / 4);
  });

  it('starts a day when idle, ends it when nothing is pending and stops once the session ended', () => {
    const rng = rngFromSeed('plan');
    const idle: GateState = { ...archiveGateV1.initialState('p', {}), credits: 0 };
    expect(planNextEvents(idle, rng)).toEqual([{ type: 'day.started', version: 1, data: {} }]);
    const settled: GateState = { ...idle, phase: 'open', day: 1, requests: [] };
    expect(planNextEvents(settled, rng)[0]?.type).toBe('day.ended');
    expect(planNextEvents({ ...idle, phase: 'ended' }, rng)).toEqual([]);
  });

  it('keeps the state small over a 5,000-event session', () => {
    const events = playSession('long', {}, 5000, 'bot-a', {
      rejectedEveryN: 11,
      oldVersionEveryN: 5,
    });
    const state = foldGateEvents('long', {}, events);
    expect(state.stats.daysCompleted).toBeGreaterThan(100);
    expect(JSON.stringify(state).length).toBeLessThan(4096);
  });
});
