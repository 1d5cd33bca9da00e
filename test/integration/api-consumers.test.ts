import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, Reply, TestKey } from '../support/api.js';

let api: ApiFixture;
let server: TestKey;
let analyst: TestKey;
let admin: TestKey;
let stranger: TestKey;

beforeAll(async () => {
  api = await createApiFixture();
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

const receive = async (name: string, member: string, key = server.key) =>
  ok<Received>(
    await api.call('GET', `/v1/consumers/${name}/events?member=${member}&limit=1000`, { key }),
  );

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
    expect((await join('zombie-check', 'z', 150)).slots.map((s) => s.slot)).toEqual([0]);
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
    expect(heir.events.map(keyOf)).toEqual(zombie.events.map(keyOf).slice(0, heir.events.length));
    expect(heir.events.length).toBeGreaterThanOrEqual(zombie.events.length);
    // z holds nothing now: its receive is empty and names no slot.
    expect(await receive('zombie-check', 'z')).toEqual({
      events: [],
      slots: [],
      through: null,
      held: false,
    });
  });
});
