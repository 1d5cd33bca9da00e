import { describe, expect, it } from 'vitest';
import { createGameCatalog, rngFromSeed } from '../../src/game/index.js';
import type { Rng } from '../../src/game/index.js';
import {
  archiveGateV1,
  breachOddsBp,
  gateEventTypes,
  gateUpcasters,
} from '../../src/game/archive-gate/index.js';
import type { GateRequest, GateState } from '../../src/game/archive-gate/index.js';

const evolve = (state: GateState, type: string, data: Record<string, unknown>, rng?: Rng) =>
  archiveGateV1.evolve(
    state,
    { sequence: 1, type, version: gateEventTypes.latestVersion(type) ?? 1, data },
    rng ?? null,
  );

const fresh = (config: Record<string, unknown> = {}) =>
  archiveGateV1.initialState('seed-1', gateEventTypes.configSchema.parse(config));

function request(n: number, over: Partial<GateRequest> = {}): GateRequest {
  return {
    id: `d1-r${n}`,
    requester: 'Hana Sato',
    claimedRole: 'archivist',
    indicators: ['known_device', 'urgent_tone'],
    revealed: 0,
    malicious: false,
    value: 100,
    status: 'pending',
    ...over,
  };
}

const openDay = (requests: GateRequest[], over: Partial<GateState> = {}): GateState => ({
  ...fresh(),
  day: 1,
  phase: 'open',
  requests,
  ...over,
});

/** An Rng whose chance() answers from a script and records the odds it was asked. */
function scriptedRng(answers: boolean[], asked: number[]): Rng {
  const fail = () => {
    throw new Error('only chance() is expected');
  };
  return {
    below: fail,
    between: fail,
    pick: fail,
    state: fail,
    chance: (bp) => {
      asked.push(bp);
      return answers.shift() ?? false;
    },
  };
}

describe('archive-gate config', () => {
  it('fills every default from an empty config', () => {
    expect(gateEventTypes.configSchema.parse({})).toEqual({
      startingCredits: 1000,
      requestsPerDay: { min: 3, max: 6 },
      maliciousRateBp: 3000,
      investigateCost: 50,
    });
  });

  it('fills the missing half of requestsPerDay', () => {
    expect(gateEventTypes.configSchema.parse({ requestsPerDay: { max: 4 } })).toMatchObject({
      requestsPerDay: { min: 3, max: 4 },
    });
  });

  it.each([
    ['an unknown key', { bonus: 1 }],
    ['min above max', { requestsPerDay: { min: 5, max: 4 } }],
    ['fewer than 2 requests a day', { requestsPerDay: { min: 1 } }],
    ['more than 12 requests a day', { requestsPerDay: { max: 13 } }],
    ['odds above 10,000 basis points', { maliciousRateBp: 10_001 }],
    ['a fractional cost', { investigateCost: 12.5 }],
    ['negative starting credits', { startingCredits: -1 }],
  ])('refuses %s', (_name, config) => {
    expect(gateEventTypes.configSchema.safeParse(config).success).toBe(false);
  });
});

describe('archive-gate initial state', () => {
  it('starts idle on day 0 with the configured credits, trust 50 and the session stream', () => {
    const state = archiveGateV1.initialState('seed-1', { startingCredits: 700 });
    expect(state).toMatchObject({
      day: 0,
      phase: 'idle',
      credits: 700,
      trust: 50,
      score: 0,
      defenses: { firewall: 0, mfa: 0, training: 0 },
      requests: [],
      rejected: 0,
      rng: { a: 656621705, b: 839938056, c: 1488448908, d: -1650202586 },
    });
    expect(Object.values(state.rejectedByReason).every((n) => n === 0)).toBe(true);
  });

  it('scores a state by its score field', () => {
    expect(archiveGateV1.score({ ...fresh(), score: 135 })).toBe(135);
  });

  it('registers in a game catalog under its own name and version', () => {
    const catalog = createGameCatalog([archiveGateV1]);
    expect(catalog.find('archive-gate', 1)).toBe(archiveGateV1);
    expect(catalog.eventTypes.find('archive-gate', 1)).toBe(gateEventTypes);
  });

  it('ends days at day.ended, for the snapshotter', () => {
    expect(archiveGateV1.dayBoundaryTypes).toEqual(['day.ended']);
  });
});

describe('day.started', () => {
  it('draws exactly these requests from seed "seed-1" (pins the generator use)', () => {
    const state = evolve(fresh(), 'day.started', {});
    expect(state.day).toBe(1);
    expect(state.phase).toBe('open');
    expect(
      state.requests.map((r) => [r.id, r.requester, r.claimedRole, r.malicious, r.value]),
    ).toEqual([
      ['d1-r1', 'Hana Sato', 'archivist', false, 260],
      ['d1-r2', 'Gus Lindqvist', 'executive', false, 270],
      ['d1-r3', 'Dana Kowalski', 'contractor', false, 160],
      ['d1-r4', 'Hana Sato', 'contractor', true, 140],
      ['d1-r5', 'Dana Kowalski', 'journalist', false, 70],
      ['d1-r6', 'Chidi Mensah', 'researcher', true, 210],
    ]);
    expect(state.requests[3]?.indicators).toEqual(['unverified_callback', 'macro_attachment']);
    expect(state.requests.every((r) => r.status === 'pending' && r.revealed === 0)).toBe(true);
    expect(state.rng).toEqual({ a: -499978218, b: -1240697865, c: 959615778, d: 353525055 });
  });

  it('continues the session stream from day to day', () => {
    const day1 = evolve(fresh(), 'day.started', {});
    const day2 = evolve(
      evolve(day1, 'day.ended', { seed: 'n' }, rngFromSeed('n')),
      'day.started',
      {},
    );
    expect(day2.day).toBe(2);
    expect(day2.requests[0]?.id).toBe('d2-r1');
    expect(day2.rng).not.toEqual(day1.rng);
  });

  it('draws between min and max requests with no indicator twice', () => {
    const config = { requestsPerDay: { min: 2, max: 4 } };
    for (const seed of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
      const state = evolve(archiveGateV1.initialState(seed, config), 'day.started', {});
      expect(state.requests.length).toBeGreaterThanOrEqual(2);
      expect(state.requests.length).toBeLessThanOrEqual(4);
      for (const r of state.requests) {
        expect(new Set(r.indicators).size).toBe(r.indicators.length);
        expect(r.indicators.length).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it('follows maliciousRateBp at its extremes', () => {
    const none = evolve(fresh({ maliciousRateBp: 0 }), 'day.started', {});
    const all = evolve(fresh({ maliciousRateBp: 10_000 }), 'day.started', {});
    expect(none.requests.some((r) => r.malicious)).toBe(false);
    expect(all.requests.every((r) => r.malicious)).toBe(true);
  });
});

describe('request.decided', () => {
  it('records approve, deny and flag on the request and in the stats', () => {
    let state = openDay([request(1), request(2), request(3)]);
    state = evolve(state, 'request.decided', { requestId: 'd1-r1', decision: 'approve' });
    state = evolve(state, 'request.decided', { requestId: 'd1-r2', decision: 'deny' });
    state = evolve(state, 'request.decided', { requestId: 'd1-r3', decision: 'flag' });
    expect(state.requests.map((r) => r.status)).toEqual(['approved', 'denied', 'flagged']);
    expect(state.stats).toMatchObject({ approved: 1, denied: 1, flagged: 1 });
    expect(state.rejected).toBe(0);
  });

  it('upcasts v1 approved: true/false to approve/deny', () => {
    const [step] = gateUpcasters;
    expect(step).toMatchObject({ type: 'request.decided', fromVersion: 1 });
    const yes = step?.upcast({ requestId: 'd1-r1', approved: true });
    const no = step?.upcast({ requestId: 'd1-r2', approved: false });
    expect(yes).toEqual({ requestId: 'd1-r1', decision: 'approve' });
    expect(no).toEqual({ requestId: 'd1-r2', decision: 'deny' });
    expect(gateEventTypes.find('request.decided', 2)?.schema.safeParse(yes).success).toBe(true);
  });

  it('folds a v1 event that reaches evolve the same as its v2 form', () => {
    const state = openDay([request(1)]);
    const v1 = archiveGateV1.evolve(
      state,
      {
        sequence: 1,
        type: 'request.decided',
        version: 1,
        data: { requestId: 'd1-r1', approved: false },
      },
      null,
    );
    expect(v1).toEqual(evolve(state, 'request.decided', { requestId: 'd1-r1', decision: 'deny' }));
  });
});

describe('request.investigated', () => {
  it('reveals one more indicator for investigateCost credits', () => {
    const state = evolve(openDay([request(1)]), 'request.investigated', { requestId: 'd1-r1' });
    expect(state.requests[0]?.revealed).toBe(1);
    expect(state.credits).toBe(950);
    expect(state.stats.investigated).toBe(1);
  });
});

describe('defense.purchased', () => {
  it('costs 200, 400 then 800 credits for levels 1 to 3', () => {
    let state = openDay([], { credits: 1500 });
    const credits: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      state = evolve(state, 'defense.purchased', { defense: 'mfa' });
      credits.push(state.credits);
    }
    expect(credits).toEqual([1300, 900, 100]);
    expect(state.defenses).toEqual({ firewall: 0, mfa: 3, training: 0 });
    expect(state.stats.purchases).toBe(3);
  });

  it('lowers the breach odds by level, to a floor of 500 basis points', () => {
    expect(breachOddsBp({ firewall: 0, mfa: 0, training: 0 })).toBe(6000);
    expect(breachOddsBp({ firewall: 1, mfa: 0, training: 0 })).toBe(5000);
    expect(breachOddsBp({ firewall: 2, mfa: 1, training: 2 })).toBe(2000);
    expect(breachOddsBp({ firewall: 3, mfa: 3, training: 3 })).toBe(500);
  });
});

describe('day.ended', () => {
  const mixedDay = () =>
    openDay([
      request(1, { status: 'approved', value: 200 }),
      request(2, { status: 'denied' }),
      request(3, { status: 'flagged' }),
      request(4, { status: 'denied', malicious: true }),
      request(5, { status: 'flagged', malicious: true }),
      request(6),
      request(7, { status: 'approved', malicious: true, value: 250 }),
    ]);

  it('settles every request, draws once per approved attack and closes the day', () => {
    const asked: number[] = [];
    const state = evolve(mixedDay(), 'day.ended', { seed: 'x' }, scriptedRng([true], asked));
    expect(asked).toEqual([6000]);
    expect(state).toMatchObject({ phase: 'idle', day: 1, requests: [], credits: 900, trust: 38 });
    expect(state.score).toBe(10 + 10 + 15 + 5);
    expect(state.stats).toMatchObject({
      correct: 3,
      mistakes: 3,
      ignored: 1,
      breaches: 1,
      daysCompleted: 1,
    });
  });

  it('costs nothing when the approved attack does not breach', () => {
    const state = evolve(mixedDay(), 'day.ended', { seed: 'x' }, scriptedRng([false], []));
    expect(state).toMatchObject({ credits: 1200, trust: 48 });
    expect(state.stats.breaches).toBe(0);
  });

  it('breaches from pinned seeds: "night-7" at base odds but not with a firewall', () => {
    const attack = (firewall: number) =>
      openDay([request(1, { status: 'approved', malicious: true })], {
        defenses: { firewall, mfa: 0, training: 0 },
      });
    expect(
      evolve(attack(0), 'day.ended', { seed: 'night-7' }, rngFromSeed('night-7')).stats.breaches,
    ).toBe(1);
    expect(
      evolve(attack(1), 'day.ended', { seed: 'night-7' }, rngFromSeed('night-7')).stats.breaches,
    ).toBe(0);
    expect(
      evolve(attack(0), 'day.ended', { seed: 'night-1' }, rngFromSeed('night-1')).stats.breaches,
    ).toBe(0);
  });

  it('keeps credits at 0 or more and trust within 0..100', () => {
    const breached = openDay([request(1, { status: 'approved', malicious: true })], {
      credits: 120,
      trust: 4,
    });
    const low = evolve(breached, 'day.ended', { seed: 'x' }, scriptedRng([true], []));
    expect(low).toMatchObject({ credits: 0, trust: 0 });
    const good = openDay([request(1, { status: 'approved' }), request(2, { status: 'approved' })], {
      trust: 99,
    });
    expect(evolve(good, 'day.ended', { seed: 'x' }, scriptedRng([], [])).trust).toBe(100);
  });
});

describe('session.ended', () => {
  it('ends the game, open day or not, and refuses everything after', () => {
    const ended = evolve(openDay([request(1)]), 'session.ended', { reason: 'done' });
    expect(ended.phase).toBe('ended');
    const after = evolve(ended, 'request.decided', { requestId: 'd1-r1', decision: 'approve' });
    expect(after.requests[0]?.status).toBe('pending');
    expect(after.rejectedByReason.session_ended).toBe(1);
  });
});
