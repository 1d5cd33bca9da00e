import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, Reply, TestKey } from '../support/api.js';

let api: ApiFixture;
let server: TestKey;
let analyst: TestKey;
let admin: TestKey;
let stranger: TestKey;

beforeAll(async () => {
  // Only the consumers the tests make: agate's own (agate.*) would be listed for every tenant.
  api = await createApiFixture({ consumers: false });
  const tenant = await api.newTenant();
  server = await api.newKey(tenant, 'game_server');
  analyst = await api.newKey(tenant, 'analyst');
  admin = await api.newKey(tenant, 'admin');
  stranger = await api.newKey(await api.newTenant('other'), 'game_server');
});
afterAll(() => api.close());

type Event = { position: string; sessionId: string; sequence: number; previousSequence: number };
type Received = {
  events: Event[];
  slots: { slot: number; epoch: number }[];
  through: string | null;
  held: boolean;
};
type Membership = { member: string; slots: { slot: number; epoch: number; checkpoint: string }[] };

const slotOf = (sessionId: string, count: number) =>
  Number.parseInt(sessionId.slice(-2), 16) % count;

function ok<T>(reply: Reply, status = 200): T {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  return reply.body as T;
}

async function newSession(events: number): Promise<string> {
  const created = await api.call('POST', '/v1/sessions', {
    key: server.key,
    body: { rules: 'tiny' },
  });
  const id = ok<{ id: string }>(created, 201).id;
  await append(id, events);
  return id;
}

async function append(sessionId: string, events: number): Promise<void> {
  const body = { events: Array.from({ length: events }, (_, i) => inc(i + 1)) };
  ok(await api.call('POST', `/v1/sessions/${sessionId}/events`, { key: server.key, body }), 201);
}

/** Sessions until each of `count` slots has at least one. */
async function sessionsInEverySlot(count: number, events: number): Promise<string[]> {
  const ids: string[] = [];
  while (new Set(ids.map((id) => slotOf(id, count))).size < count) {
    expect(ids.length).toBeLessThan(64);
    ids.push(await newSession(events));
  }
  return ids;
}

const join = async (name: string, member: string, leaseMs = 30_000, key = server.key) =>
  ok<Membership>(
    await api.call('POST', `/v1/consumers/${name}/members`, { key, body: { member, leaseMs } }),
  );

/**
 * A receive once nothing is held: a write transaction open anywhere in the cluster (other tests'
 * databases included) holds the feed back, and a held receive is only a prefix of the answer.
 */
async function receive(name: string, member: string, key = server.key): Promise<Received> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const received = ok<Received>(
      await api.call('GET', `/v1/consumers/${name}/events?member=${member}&limit=1000`, { key }),
    );
    if (!received.held) return received;
    expect(Date.now(), 'the feed stayed held').toBeLessThan(deadline);
  }
}

const checkpoint = (name: string, member: string, received: Received, key = server.key) =>
  api.call('POST', `/v1/consumers/${name}/checkpoints`, {
    key,
    body: { member, slots: received.slots, position: received.through },
  });

/** Joins until `member` holds `slots` (a member gives up slots above its share on its own heartbeat). */
async function settle(name: string, members: Record<string, number[]>, leaseMs = 30_000) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const held: Record<string, number[]> = {};
    for (const member of Object.keys(members)) {
      held[member] = (await join(name, member, leaseMs)).slots.map((s) => s.slot);
    }
    if (JSON.stringify(held) === JSON.stringify(members)) return;
    if (Date.now() > deadline) expect(held).toEqual(members);
  }
}

const keyOf = (e: Event) => `${e.sessionId}:${e.sequence}`;

describe('durable consumers over HTTP', () => {
  it('shares a consumer between two members by session, fences a zombie, and hands slots over on leave and reset', async () => {
    const sessions = await sessionsInEverySlot(2, 3);
    const created = await api.call('PUT', '/v1/consumers/pipeline', {
      key: server.key,
      body: { slots: 2 },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'pipeline', types: null, slots: 2 });
    const again = await api.call('PUT', '/v1/consumers/pipeline', {
      key: server.key,
      body: { slots: 2 },
    });
    expect(again.status).toBe(200);
    const other = await api.call('PUT', '/v1/consumers/pipeline', {
      key: server.key,
      body: { slots: 4 },
    });
    expect(other.status).toBe(409);
    expect(other.json.code).toBe('consumer_conflict');

    await settle('pipeline', { a: [0], b: [1] });
    const fromA = await receive('pipeline', 'a');
    const fromB = await receive('pipeline', 'b');
    expect(fromA.slots.map((s) => s.slot)).toEqual([0]);
    expect(fromB.slots.map((s) => s.slot)).toEqual([1]);
    expect(fromA.events.every((e) => slotOf(e.sessionId, 2) === 0)).toBe(true);
    expect(fromB.events.every((e) => slotOf(e.sessionId, 2) === 1)).toBe(true);
    const delivered = [...fromA.events, ...fromB.events].map(keyOf).sort();
    expect(delivered).toEqual(sessions.flatMap((id) => [1, 2, 3].map((n) => `${id}:${n}`)).sort());
    for (const e of [...fromA.events, ...fromB.events])
      expect(e.previousSequence).toBe(e.sequence - 1);
    expect(fromA.events[0]).toEqual({
      position: expect.stringMatching(/^\d+:[0-9a-f-]{36}:\d+$/) as string,
      sessionId: expect.any(String) as string,
      sequence: 1,
      previousSequence: 0,
      eventId: expect.any(String) as string,
      type: 'counter.incremented',
      version: 1,
      data: { by: 1 },
      clientTime: null,
      serverTime: expect.stringMatching(/Z$/) as string,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
    });

    expect((await checkpoint('pipeline', 'a', fromA)).status).toBe(204);
    expect((await checkpoint('pipeline', 'b', fromB)).status).toBe(204);
    const caughtUp = await receive('pipeline', 'a');
    expect(caughtUp.events).toEqual([]);

    // a leaves: b takes slot 0 on its next heartbeat and resumes after a's checkpoint.
    const left = await api.call('DELETE', '/v1/consumers/pipeline/members/a', { key: server.key });
    expect(left.status).toBe(204);
    const inSlot0 = sessions.find((id) => slotOf(id, 2) === 0) ?? '';
    await append(inSlot0, 1);
    expect((await join('pipeline', 'b')).slots.map((s) => s.slot)).toEqual([0, 1]);
    const handedOver = await receive('pipeline', 'b');
    expect(handedOver.events.map(keyOf)).toEqual([`${inSlot0}:4`]);
    expect((await checkpoint('pipeline', 'b', handedOver)).status).toBe(204);

    // A reset fences b (its epochs are old) and starts the consumer over.
    const stale = await receive('pipeline', 'b');
    const reset = await api.call('POST', '/v1/consumers/pipeline/reset', {
      key: server.key,
      body: { to: 'beginning' },
    });
    expect(reset.status).toBe(200);
    expect((reset.json.slotStates as { owner: unknown }[]).map((s) => s.owner)).toEqual([
      null,
      null,
    ]);
    const fenced = await checkpoint('pipeline', 'b', { ...stale, through: handedOver.through });
    expect(fenced.status).toBe(409);
    expect(fenced.json.code).toBe('lease_lost');
    await join('pipeline', 'b');
    const replayed = await receive('pipeline', 'b');
    expect(replayed.events.map(keyOf).sort()).toEqual([...delivered, `${inSlot0}:4`].sort());
  });

  it('writes nothing for a member whose lease expired and whose slots another member claimed', async () => {
    await sessionsInEverySlot(1, 2);
    ok(
      await api.call('PUT', '/v1/consumers/zombie-check', { key: server.key, body: { slots: 1 } }),
      201,
    );
    // The lease is long enough for z's receive on a loaded machine, short enough to wait out.
    expect((await join('zombie-check', 'z', 2_000)).slots.map((s) => s.slot)).toEqual([0]);
    const zombie = await receive('zombie-check', 'z');
    expect(zombie.events.length).toBeGreaterThan(0);
    // y claims slot 0 once z's lease has run out.
    const deadline = Date.now() + 10_000;
    while ((await join('zombie-check', 'y')).slots.length === 0) {
      expect(Date.now()).toBeLessThan(deadline);
    }
    const lost = await checkpoint('zombie-check', 'z', zombie);
    expect(lost.status).toBe(409);
    expect(lost.json.code).toBe('lease_lost');
    const status = ok<{ slotStates: { checkpoint: string; owner: string }[] }>(
      await api.call('GET', '/v1/consumers/zombie-check', { key: server.key }),
    );
    expect(status.slotStates).toEqual([
      expect.objectContaining({
        checkpoint: '0:00000000-0000-0000-0000-000000000000:0',
        owner: 'y',
      }),
    ]);
    const heir = await receive('zombie-check', 'y');
    expect(heir.events.slice(0, zombie.events.length)).toEqual(zombie.events);
    // z holds nothing now: its receive is empty and names no slot.
    expect(await receive('zombie-check', 'z')).toEqual({
      events: [],
      slots: [],
      through: null,
      held: false,
    });
  });
});

describe('who may use consumers', () => {
  it('lets an analyst key run a consumer through agate_analyst, and keeps every tenant to its own', async () => {
    await sessionsInEverySlot(1, 1);
    ok(
      await api.call('PUT', '/v1/consumers/analytics', { key: analyst.key, body: { slots: 1 } }),
      201,
    );
    const membership = await join('analytics', 'etl', 30_000, analyst.key);
    expect(membership.slots.map((s) => s.slot)).toEqual([0]);
    const received = await receive('analytics', 'etl', analyst.key);
    expect(received.events.length).toBeGreaterThan(0);
    expect((await checkpoint('analytics', 'etl', received, analyst.key)).status).toBe(204);
    const listed = ok<{ consumers: { name: string; slotStates: { checkpoint: string }[] }[] }>(
      await api.call('GET', '/v1/consumers', { key: admin.key }),
    );
    const analytics = listed.consumers.find((c) => c.name === 'analytics');
    expect(analytics?.slotStates.map((s) => s.checkpoint)).toEqual([received.through]);

    // Another tenant sees none of it, by name or in its list.
    const foreign = await api.call('GET', '/v1/consumers/analytics', { key: stranger.key });
    expect(foreign.status).toBe(404);
    expect(foreign.json.code).toBe('consumer_not_found');
    const foreignJoin = await api.call('POST', '/v1/consumers/analytics/members', {
      key: stranger.key,
      body: { member: 'etl' },
    });
    expect(foreignJoin.status).toBe(404);
    const foreignList = ok<{ consumers: unknown[] }>(
      await api.call('GET', '/v1/consumers', { key: stranger.key }),
    );
    expect(foreignList.consumers).toEqual([]);

    const operator = await api.newOperatorKey();
    const refused = await api.call('GET', '/v1/consumers', { key: operator.key });
    expect(refused.status).toBe(403);
    expect((await api.call('GET', '/v1/consumers')).status).toBe(401);

    const deleted = await api.call('DELETE', '/v1/consumers/analytics', { key: admin.key });
    expect(deleted.status).toBe(204);
    expect((await api.call('GET', '/v1/consumers/analytics', { key: analyst.key })).status).toBe(
      404,
    );
  });

  it('makes up a member name when the join names none, and the member can use it', async () => {
    ok(
      await api.call('PUT', '/v1/consumers/anonymous', { key: server.key, body: { slots: 3 } }),
      201,
    );
    const joined = ok<Membership & { leaseMs: number; expiresAt: string; slotCount: number }>(
      await api.call('POST', '/v1/consumers/anonymous/members', { key: server.key }),
    );
    expect(joined.member).toMatch(/^http-[0-9a-f-]{36}$/);
    expect(joined.slotCount).toBe(3);
    expect(joined.leaseMs).toBe(30_000);
    expect(Date.parse(joined.expiresAt)).toBeGreaterThan(Date.now() + 20_000);
    expect(joined.slots.map((s) => s.slot)).toEqual([0, 1, 2]);
    const received = await receive('anonymous', joined.member);
    expect(received.slots).toEqual(joined.slots.map(({ slot, epoch }) => ({ slot, epoch })));
  });
});

describe('bad input to the consumer routes', () => {
  const badRequests: [string, string, string, unknown][] = [
    ['a name with capitals', 'PUT', '/v1/consumers/Pipeline', {}],
    ['a name with a space', 'PUT', '/v1/consumers/a%20b', {}],
    ['agate’s own prefix', 'PUT', '/v1/consumers/agate.snapshots', {}],
    ['no slots', 'PUT', '/v1/consumers/valid-name', { slots: 0 }],
    ['too many slots', 'PUT', '/v1/consumers/valid-name', { slots: 257 }],
    ['an empty type filter', 'PUT', '/v1/consumers/valid-name', { types: [] }],
    ['a bad start', 'PUT', '/v1/consumers/valid-name', { start: 'yesterday' }],
    ['an unknown field', 'PUT', '/v1/consumers/valid-name', { slot: 2 }],
    ['a bad reset position', 'POST', '/v1/consumers/bad-input/reset', { to: '12:nope:3' }],
    ['a reset without a target', 'POST', '/v1/consumers/bad-input/reset', {}],
    ['a lease too short', 'POST', '/v1/consumers/bad-input/members', { leaseMs: 5 }],
    ['a receive without member', 'GET', '/v1/consumers/bad-input/events', undefined],
    [
      'an unknown query parameter',
      'GET',
      '/v1/consumers/bad-input/events?member=m&after=1',
      undefined,
    ],
    ['a limit too large', 'GET', '/v1/consumers/bad-input/events?member=m&limit=100000', undefined],
    [
      'a checkpoint without slots',
      'POST',
      '/v1/consumers/bad-input/checkpoints',
      { member: 'm', slots: [], position: '0:00000000-0000-0000-0000-000000000000:0' },
    ],
    [
      'a checkpoint at a bad position',
      'POST',
      '/v1/consumers/bad-input/checkpoints',
      { member: 'm', slots: [{ slot: 0, epoch: 1 }], position: 'last' },
    ],
  ];

  beforeAll(async () => {
    ok(await api.call('PUT', '/v1/consumers/bad-input', { key: server.key }), 201);
  });

  it.each(badRequests)(
    'refuses %s with 400 invalid_request and changes nothing',
    async (_what, method, url, body) => {
      const before = await api.call('GET', '/v1/consumers', { key: server.key });
      const reply = await api.call(method, url, { key: server.key, body });
      expect(reply.status, JSON.stringify(reply.body)).toBe(400);
      expect(reply.json.code).toBe('invalid_request');
      expect(typeof reply.json.detail).toBe('string');
      expect((await api.call('GET', '/v1/consumers', { key: server.key })).body).toEqual(
        before.body,
      );
    },
  );

  it('answers 404 consumer_not_found for a consumer that does not exist, on every route', async () => {
    const member = { member: 'm' };
    const calls: [string, string, unknown][] = [
      ['GET', '/v1/consumers/missing', undefined],
      ['DELETE', '/v1/consumers/missing', undefined],
      ['POST', '/v1/consumers/missing/reset', { to: 'now' }],
      ['POST', '/v1/consumers/missing/members', member],
      ['DELETE', '/v1/consumers/missing/members/m', undefined],
      ['GET', '/v1/consumers/missing/events?member=m', undefined],
      [
        'POST',
        '/v1/consumers/missing/checkpoints',
        {
          ...member,
          slots: [{ slot: 0, epoch: 1 }],
          position: '0:00000000-0000-0000-0000-000000000000:0',
        },
      ],
    ];
    for (const [method, url, body] of calls) {
      const reply = await api.call(method, url, { key: server.key, body });
      expect(reply.status, `${method} ${url}`).toBe(404);
      expect(reply.json.code).toBe('consumer_not_found');
    }
  });

  it('starts a consumer after a delivered position, and resets one to a position', async () => {
    const session = await newSession(3);
    ok(
      await api.call('PUT', '/v1/consumers/from-start', { key: server.key, body: { slots: 1 } }),
      201,
    );
    await join('from-start', 'm');
    const all = (await receive('from-start', 'm')).events.filter((e) => e.sessionId === session);
    expect(all.map((e) => e.sequence)).toEqual([1, 2, 3]);
    const after = all[0]?.position ?? '';
    ok(
      await api.call('PUT', '/v1/consumers/from-position', {
        key: server.key,
        body: { slots: 1, start: after },
      }),
      201,
    );
    await join('from-position', 'm');
    const later = (await receive('from-position', 'm')).events;
    expect(later.some((e) => e.position === after)).toBe(false);
    expect(later.filter((e) => e.sessionId === session).map((e) => e.sequence)).toEqual([2, 3]);

    ok(
      await api.call('POST', '/v1/consumers/from-start/reset', {
        key: server.key,
        body: { to: all[1]?.position },
      }),
    );
    await join('from-start', 'm');
    const reread = (await receive('from-start', 'm')).events.filter((e) => e.sessionId === session);
    expect(reread.map((e) => e.sequence)).toEqual([3]);

    ok(
      await api.call('PUT', '/v1/consumers/from-now', {
        key: server.key,
        body: { slots: 1, start: 'now' },
      }),
      201,
    );
    await join('from-now', 'm');
    expect((await receive('from-now', 'm')).events).toEqual([]);
    await append(session, 1);
    const fresh = await receive('from-now', 'm');
    expect(fresh.events.map(keyOf)).toEqual([`${session}:4`]);
  });
});
