import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { maintainPartitions } from '../../partitions/index.js';
import { createPool, withTenant } from '../../src/db/index.js';
import type { PoolClient } from '../../src/db/index.js';
import { isAgateError } from '../../src/errors/index.js';
import { compareFeedPositions, formatFeedPosition, readFeed } from '../../src/events/index.js';
import type { FeedEvent, FeedPosition, NewEvent, Session } from '../../src/events/index.js';
import {
  checkpointConsumer,
  commitCheckpoint,
  createFeedWake,
  deleteConsumer,
  ensureConsumer,
  getConsumer,
  joinConsumer,
  leaveConsumer,
  listConsumers,
  receiveEvents,
  resetConsumer,
  slotOf,
  startConsumer,
} from '../../src/feed/index.js';
import type { ConsumerHandle, FeedWake } from '../../src/feed/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;
let names = 0;
const fresh = (prefix: string) => `${prefix}-${(names += 1)}`;

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const note = (text: string): NewEvent => ({ type: 'note.written', version: 1, data: { text } });

async function newSession(seed = `s${names}`): Promise<Session> {
  names += 1;
  return agate.store.createSession({ tenantId, rules: 'tiny', seed: `${seed}-${names}` });
}

async function append(session: Session, events: NewEvent[]): Promise<void> {
  const r = await agate.store.appendEvents({ tenantId, sessionId: session.id, events });
  expect(r.ok).toBe(true);
}

/** Waits for a condition, checking every few milliseconds, failing after the deadline. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The feed position of a session's event, once the feed delivers it: the feed holds events back
 * while any older transaction of the cluster is open (other databases' included).
 */
async function positionOf(session: Session, sequence: number): Promise<FeedPosition> {
  let found: FeedPosition | undefined;
  await until(`event ${sequence} to reach the feed`, async () => {
    const page = await readFeed({ pool: db.pool }, { tenantId, sessionId: session.id });
    found = page.events.find((e) => e.sequence === sequence)?.position;
    return found !== undefined;
  });
  if (found === undefined) throw new Error('unreachable');
  return found;
}

/** Every error a consumer in this file reported; a test that expects none checks it. */
const reported: unknown[] = [];

/** Effects a transactional handler writes: one row per event, a second one is a key violation. */
async function effects(consumer: string): Promise<{ session_id: string; sequence: number }[]> {
  const r = await db.pool.query<{ session_id: string; sequence: number }>(
    `SELECT session_id, sequence FROM public.feed_effects WHERE consumer = $1
      ORDER BY session_id, sequence`,
    [consumer],
  );
  return r.rows;
}

function writeEffects(consumer: string) {
  return async (tx: PoolClient, events: readonly FeedEvent[]) => {
    for (const e of events) {
      await tx.query(
        `INSERT INTO public.feed_effects (consumer, position, session_id, sequence)
         VALUES ($1, $2, $3, $4)`,
        [consumer, formatFeedPosition(e.position), e.sessionId, e.sequence],
      );
    }
  };
}

const running: ConsumerHandle[] = [];
async function start(...args: Parameters<typeof startConsumer>): Promise<ConsumerHandle> {
  const [pool, options] = args;
  const handle = await startConsumer(pool, {
    ...options,
    onError: (error) => {
      reported.push(error);
      options.onError?.(error);
    },
  });
  running.push(handle);
  return handle;
}

beforeAll(async () => {
  db = await createTestDatabase({ max: 12 });
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
  tenantId = (await createTenant(db.pool, { name: 'feed consumers', actor: 'test' })).id;
  await db.pool.query(
    `CREATE TABLE public.feed_effects (consumer text, position text, session_id uuid,
       sequence int, PRIMARY KEY (consumer, position));
     GRANT SELECT, INSERT ON public.feed_effects TO agate_app`,
  );
});
afterAll(async () => {
  await Promise.all(running.map((h) => h.stop().catch(() => undefined)));
  await db.drop();
});

describe('consumer administration', () => {
  it('creates a consumer once, returns it again for the same definition, and refuses another under its name', async () => {
    const name = fresh('admin');
    const first = await ensureConsumer(db.pool, {
      tenantId,
      name,
      types: ['b', 'a', 'a'],
      slots: 4,
    });
    expect(first).toMatchObject({ name, types: ['a', 'b'], slots: 4 });
    const again = await ensureConsumer(db.pool, { tenantId, name, types: ['a', 'b'], slots: 4 });
    expect(again.id).toBe(first.id);
    for (const other of [
      { types: ['a'], slots: 4 },
      { types: null, slots: 4 },
      { types: ['a', 'b'], slots: 5 },
    ]) {
      await expect(ensureConsumer(db.pool, { tenantId, name, ...other })).rejects.toMatchObject({
        code: 'consumer_conflict',
      });
    }
    const status = await getConsumer(db.pool, { tenantId, name });
    expect(status.slotStates.map((s) => [s.slot, s.checkpoint, s.owner, s.epoch])).toEqual(
      [0, 1, 2, 3].map((slot) => [slot, `0:00000000-0000-0000-0000-000000000000:0`, null, 0]),
    );
  });

  it('refuses a bad name, and agate’s own names unless the caller is agate', async () => {
    for (const name of ['', 'Upper', '-dash', 'a'.repeat(64), 'sp ace']) {
      await expect(ensureConsumer(db.pool, { tenantId, name, types: null })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    }
    await expect(
      ensureConsumer(db.pool, { tenantId, name: 'agate.snapshots', types: null, reserved: false }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      joinConsumer(db.pool, { tenantId, name: 'agate.snapshots', member: 'm', leaseMs: 1000 }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    const own = await ensureConsumer(db.pool, {
      tenantId,
      name: 'agate.test-own',
      types: null,
      reserved: true,
    });
    expect(own.slots).toBe(16);
  });

  it('lists consumers with their slots and members, resets them fencing the owner, and deletes them', async () => {
    const name = fresh('list');
    const session = await newSession();
    await append(session, [inc(1), inc(2)]);
    await ensureConsumer(db.pool, { tenantId, name, types: null, slots: 2 });
    const joined = await joinConsumer(db.pool, { tenantId, name, member: 'm1', leaseMs: 60_000 });
    expect(joined.slots.map((s) => [s.slot, s.epoch])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    const listed = (await listConsumers(db.pool, { tenantId })).find((c) => c.name === name);
    expect(listed?.members.map((m) => m.member)).toEqual(['m1']);
    expect(listed?.slotStates.map((s) => s.owner)).toEqual(['m1', 'm1']);
    const second = await positionOf(session, 2);
    await resetConsumer(db.pool, { tenantId, name, to: { after: second } });
    const reset = await getConsumer(db.pool, { tenantId, name });
    expect(reset.slotStates.map((s) => [s.checkpoint, s.owner, s.epoch])).toEqual([
      [formatFeedPosition(second), null, 2],
      [formatFeedPosition(second), null, 2],
    ]);
    const fenced = withTenant(db.pool, { tenantId }, (tx) =>
      commitCheckpoint(tx, {
        tenantId,
        consumerId: joined.consumerId,
        member: 'm1',
        slots: joined.slots,
        position: second,
      }),
    );
    await expect(fenced).rejects.toMatchObject({ code: 'lease_lost' });
    await deleteConsumer(db.pool, { tenantId, name });
    await expect(getConsumer(db.pool, { tenantId, name })).rejects.toMatchObject({
      code: 'consumer_not_found',
    });
    await expect(deleteConsumer(db.pool, { tenantId, name })).rejects.toMatchObject({
      code: 'consumer_not_found',
    });
  });
});

/** Runs an at-least-once consumer until idle and returns the (session, sequence) it received. */
async function deliveredOnce(
  definition: {
    name: string;
    types: readonly string[] | null;
    start?: Parameters<typeof ensureConsumer>[1]['start'];
  },
  sessions: readonly string[],
): Promise<[string, number][]> {
  const got: [string, number][] = [];
  const handle = await start(db.pool, {
    tenantId,
    definition: {
      ...definition,
      mode: 'at-least-once',
      handle: (events) => {
        for (const e of events)
          if (sessions.includes(e.sessionId)) got.push([e.sessionId, e.sequence]);
        return Promise.resolve();
      },
    },
    pollMs: 50,
  });
  await handle.idle();
  await handle.stop();
  return got;
}

describe('where a consumer starts', () => {
  it('starts at the beginning, at now, or after a position, and never delivers outside it', async () => {
    const s = await newSession();
    await append(s, [inc(1), inc(2), inc(3)]);
    // 'now' is the oldest transaction still open anywhere in the cluster: wait until it has passed
    // these appends (the feed delivers them), or they would count as still open.
    await positionOf(s, 3);
    const nowName = fresh('now');
    await ensureConsumer(db.pool, { tenantId, name: nowName, types: null, start: 'now' });
    await append(s, [inc(4), inc(5)]);
    const second = await positionOf(s, 2);
    expect(await deliveredOnce({ name: fresh('beginning'), types: null }, [s.id])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [s.id, n]),
    );
    expect(await deliveredOnce({ name: nowName, types: null }, [s.id])).toEqual([
      [s.id, 4],
      [s.id, 5],
    ]);
    expect(
      await deliveredOnce({ name: fresh('after'), types: null, start: { after: second } }, [s.id]),
    ).toEqual([3, 4, 5].map((n) => [s.id, n]));
  });

  it('gives a filtered consumer only its types, each naming the previous one of its types', async () => {
    const s = await newSession();
    await append(s, [inc(1), note('a'), inc(2), inc(3), note('b')]);
    const name = fresh('notes');
    const seen: [number, number][] = [];
    const handle = await start(db.pool, {
      tenantId,
      definition: {
        name,
        types: ['note.written'],
        mode: 'at-least-once',
        handle: (events) => {
          for (const e of events)
            if (e.sessionId === s.id) seen.push([e.sequence, e.previousSequence]);
          return Promise.resolve();
        },
      },
      pollMs: 50,
    });
    await handle.idle();
    expect(seen).toEqual([
      [2, 0],
      [5, 2],
    ]);
    expect(handle.status()).toMatchObject({ state: 'running', error: undefined });
  });
});

describe('a filtered reader', () => {
  it('reads past the events its filter passes over, to the horizon, so the next read starts after them', async () => {
    const name = fresh('passes-over');
    await ensureConsumer(db.pool, {
      tenantId,
      name,
      types: ['note.written'],
      slots: 1,
      start: 'now',
    });
    const s = await newSession();
    await append(s, [inc(1), inc(2), inc(3)]);
    const third = await positionOf(s, 3);
    const join = () => joinConsumer(db.pool, { tenantId, name, member: 'm', leaseMs: 60_000 });
    const first = await receiveEvents(db.pool, await join(), { limit: 1000 });
    expect(first.events).toEqual([]);
    if (first.through === null) throw new Error('the read did not move past the increments');
    expect(compareFeedPositions(first.through, third)).toBeGreaterThan(0);
    const member = await join();
    await checkpointConsumer(db.pool, {
      tenantId,
      name,
      member: 'm',
      slots: member.slots,
      position: first.through,
    });
    // Nothing passed over since: no position to checkpoint, so an idle reader writes nothing.
    const idle = await receiveEvents(db.pool, await join(), { limit: 1000 });
    expect(idle).toMatchObject({ events: [], through: null });
    await append(s, [note('after')]);
    await positionOf(s, 4);
    const next = await receiveEvents(db.pool, await join(), { limit: 1000 });
    expect(next.events.map((e) => [e.sessionId, e.sequence, e.previousSequence])).toEqual([
      [s.id, 4, 0],
    ]);
  });
});

describe('a transactional consumer', () => {
  it('applies its effect once when a batch fails after writing and when its connection dies before the commit', async () => {
    const sessions = [await newSession(), await newSession()];
    for (const s of sessions) await append(s, [inc(1), inc(2), inc(3)]);
    const name = fresh('once');
    const write = writeEffects(name);
    let attempts = 0;
    const errors: unknown[] = [];
    const handle = await start(db.pool, {
      tenantId,
      definition: {
        name,
        types: null,
        slots: 1,
        mode: 'transactional',
        handle: async (tx, events) => {
          attempts += 1;
          await write(tx, events);
          if (attempts === 1) throw new Error('crash after the writes');
          if (attempts === 2) {
            // The process "dies" between its handler and its commit: the server ends its session.
            await db.pool.query(
              'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1',
              [(await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid],
            );
          }
        },
      },
      batchSize: 1000,
      pollMs: 50,
      onError: (error) => errors.push(error),
    });
    await handle.idle();
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(errors.length).toBe(2);
    const mine = (await effects(name)).filter((r) => sessions.some((s) => s.id === r.session_id));
    expect(mine.map((r) => r.sequence).sort()).toEqual([1, 1, 2, 2, 3, 3]);
    const total = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM game.events WHERE tenant_id = $1`,
      [tenantId],
    );
    expect((await effects(name)).length).toBe(total.rows[0]?.n);
  });

  it('has PostgreSQL end a batch that sits idle in its transaction past the lease, then applies it once', async () => {
    const s = await newSession();
    await append(s, [inc(1), inc(2)]);
    const name = fresh('paused');
    const write = writeEffects(name);
    let attempts = 0;
    const errors: unknown[] = [];
    const handle = await start(db.pool, {
      tenantId,
      definition: {
        name,
        types: null,
        slots: 1,
        start: { after: await positionOf(s, 1) },
        mode: 'transactional',
        handle: async (tx, events) => {
          attempts += 1;
          await write(tx, events);
          if (attempts > 1) return;
          // A member paused mid-batch: its transaction holds the slot row while it sleeps.
          const pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]
            ?.pid;
          await until(
            'PostgreSQL to end the idle transaction',
            async () =>
              (await db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]))
                .rowCount === 0,
          );
        },
      },
      leaseMs: 300,
      pollMs: 50,
      onError: (error) => errors.push(error),
    });
    await handle.idle();
    expect(attempts).toBe(2);
    expect(errors).toHaveLength(1);
    expect(await effects(name)).toEqual([{ session_id: s.id, sequence: 2 }]);
  });

  it('rolls back a zombie’s writes: its lease expired, another member took the slot, its commit is lease_lost', async () => {
    const s = await newSession();
    await append(s, [inc(1)]);
    const name = fresh('zombie');
    await ensureConsumer(db.pool, { tenantId, name, types: null, slots: 1 });
    const a = await joinConsumer(db.pool, { tenantId, name, member: 'a', leaseMs: 100 });
    expect(a.slots.map((x) => x.epoch)).toEqual([1]);
    const received = await receiveEvents(db.pool, a, { limit: 1000 });
    const through = received.through;
    if (through === null) throw new Error('nothing received');
    let b = await joinConsumer(db.pool, { tenantId, name, member: 'b', leaseMs: 60_000 });
    await until('b to take the expired slot', async () => {
      b = await joinConsumer(db.pool, { tenantId, name, member: 'b', leaseMs: 60_000 });
      return b.slots.length === 1;
    });
    expect(b.slots.map((x) => x.epoch)).toEqual([2]);
    const zombie = withTenant(db.pool, { tenantId }, async (tx) => {
      await writeEffects(name)(tx, received.events);
      await commitCheckpoint(tx, {
        tenantId,
        consumerId: a.consumerId,
        member: 'a',
        slots: a.slots,
        position: through,
      });
    });
    await expect(zombie).rejects.toMatchObject({ code: 'lease_lost' });
    expect(await effects(name)).toEqual([]);
    const status = await getConsumer(db.pool, { tenantId, name });
    expect(status.slotStates[0]).toMatchObject({
      owner: 'b',
      epoch: 2,
      checkpoint: '0:00000000-0000-0000-0000-000000000000:0',
    });
    await expect(
      checkpointConsumer(db.pool, {
        tenantId,
        name,
        member: 'a',
        slots: a.slots,
        position: through,
      }),
    ).rejects.toMatchObject({ code: 'lease_lost' });
    await checkpointConsumer(db.pool, {
      tenantId,
      name,
      member: 'b',
      slots: b.slots,
      position: through,
    });
    const after = await getConsumer(db.pool, { tenantId, name });
    expect(after.slotStates[0]?.checkpoint).toBe(formatFeedPosition(through));
    await leaveConsumer(db.pool, { tenantId, name, member: 'b' });
    expect((await getConsumer(db.pool, { tenantId, name })).slotStates[0]?.owner).toBeNull();
  });
});

describe('a consumer group', () => {
  it('spreads the slots over its members, never one slot to two, and rebalances when one leaves, applying every event once', async () => {
    const name = fresh('group');
    const before = reported.length;
    const sessions = await Promise.all(Array.from({ length: 24 }, () => newSession()));
    const members: ConsumerHandle[] = [];
    const definition = {
      name,
      types: null,
      slots: 8,
      mode: 'transactional' as const,
      handle: writeEffects(name),
    };
    const member = (id: string) =>
      start(db.pool, { tenantId, definition, member: id, leaseMs: 300, pollMs: 20 });
    members.push(await member('g1'));
    for (const s of sessions.slice(0, 8)) await append(s, [inc(1), inc(2)]);
    members.push(await member('g2'), await member('g3'));
    const owners = async () =>
      (await getConsumer(db.pool, { tenantId, name })).slotStates.map((s) => s.owner);
    await until('three members to share the eight slots', async () => {
      const o = await owners();
      const counts = ['g1', 'g2', 'g3'].map((m) => o.filter((x) => x === m).length);
      return o.every((x) => x !== null) && counts.every((n) => n >= 2 && n <= 3);
    });
    // Each member's own view agrees: no slot is in two members' hands.
    await until('every member to have heard of its slots', () =>
      members.every((m) => m.status().slots.length >= 2),
    );
    const held = members.flatMap((m) => m.status().slots);
    expect(held.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const s of sessions.slice(8)) await append(s, [inc(1), inc(2)]);
    await members[1]?.stop();
    await until('the two left to hold every slot', async () => {
      const o = await owners();
      return o.every((x) => x === 'g1' || x === 'g3');
    });
    for (const s of sessions) await append(s, [inc(3)]);
    // idle() speaks for a member's own slots; one handed over between heartbeats is the next owner's.
    const mine = async () =>
      (await effects(name)).filter((r) => sessions.some((s) => s.id === r.session_id));
    await until('every event to be applied', async () => (await mine()).length >= 72);
    await members[0]?.idle();
    await members[2]?.idle();
    const got = await mine();
    expect(got.length).toBe(sessions.length * 3);
    expect(new Set(got.map((r) => `${r.session_id}:${r.sequence}`)).size).toBe(got.length);
    // A second application would have been a key violation in the handler, reported here.
    expect(reported.slice(before).filter((e) => !isAgateError(e, 'lease_lost'))).toEqual([]);
    const bySlot = [members[0], members[2]].map((m) => m?.status().slots ?? []);
    expect(bySlot.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(sessions.every((s) => bySlot.some((slots) => slots.includes(slotOf(s.id, 8))))).toBe(
      true,
    );
  });
});

/**
 * A pool of one connection on which the store's append runs inside a transaction that stays open
 * until `release` (the real append function, committed late); `atCommit` resolves once the
 * append's rows are written and only the commit is left.
 */
function heldCommitPool(url: string) {
  const pool = createPool({ connectionString: url, max: 1 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const atCommit = new Promise<void>((resolve) => (reached = resolve));
  type Callback = (error: unknown, result?: unknown) => void;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...a: unknown[]) => Promise<unknown>;
    const held = async (args: unknown[]) => {
      await query('BEGIN');
      const result = await query(...args);
      reached();
      await gate;
      await query('COMMIT');
      return result;
    };
    (client as { query: unknown }).query = (...a: unknown[]) => {
      const text = typeof a[0] === 'string' ? a[0] : '';
      if (!text.includes('game.append_events')) return query(...a);
      const callback = typeof a.at(-1) === 'function' ? (a.pop() as Callback) : undefined;
      const run = held(a);
      if (callback === undefined) return run;
      run.then((r) => callback(undefined, r), callback);
      return undefined;
    };
  });
  return { pool, release, atCommit };
}

describe('a hole the consumer detects', () => {
  it('stops with a feed_gap naming the session, and checkpoints nothing past the broken event', async () => {
    const tenant = (await createTenant(db.pool, { name: 'broken chain', actor: 'test' })).id;
    const session = await agate.store.createSession({ tenantId: tenant, rules: 'tiny', seed: 'x' });
    await agate.store.appendEvents({ tenantId: tenant, sessionId: session.id, events: [inc(1)] });
    // Written behind the append function's back (as the owner): sequence 2 with a forged hash.
    await db.pool.query(
      `INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type, event_version,
              event_data, server_time, hash, written_by)
       VALUES ($1, $2, $3, 2, 'counter.incremented', 1, '{"by":2}', now(), $4, 'library')`,
      [uuidv7(), tenant, session.id, Buffer.alloc(32)],
    );
    const delivered: number[] = [];
    const errors: unknown[] = [];
    const handle = await startConsumer(db.pool, {
      tenantId: tenant,
      definition: {
        name: 'strict',
        types: null,
        slots: 1,
        mode: 'at-least-once',
        handle: (events) => {
          delivered.push(...events.map((e) => e.sequence));
          return Promise.resolve();
        },
      },
      pollMs: 20,
      onError: (error) => errors.push(error),
    });
    await expect(handle.idle()).rejects.toMatchObject({
      code: 'feed_gap',
      details: { sessionId: session.id, sequence: 2 },
    });
    expect(handle.status().state).toBe('failed');
    expect(delivered).toEqual([]);
    expect(errors).toHaveLength(1);
    const status = await getConsumer(db.pool, { tenantId: tenant, name: 'strict' });
    expect(status.slotStates[0]?.checkpoint).toBe('0:00000000-0000-0000-0000-000000000000:0');
    await handle.stop();
  });
});

describe('late commits', () => {
  it('holds back the events after an append still open, delivers nothing early, and skips nothing once it commits', async () => {
    const [early, late, after] = [await newSession(), await newSession(), await newSession()];
    await append(early, [inc(1)]);
    const name = fresh('late');
    const before = reported.length;
    const got: string[] = [];
    const handle = await start(db.pool, {
      tenantId,
      definition: {
        name,
        types: null,
        mode: 'at-least-once',
        handle: (events) => {
          for (const e of events) got.push(`${e.sessionId}:${e.sequence}`);
          return Promise.resolve();
        },
      },
      pollMs: 20,
    });
    await handle.idle();
    const held = heldCommitPool(db.url);
    const lateAgate = createAgate({ pool: held.pool, games: tinyGames, consumers: false });
    const lateAppend = lateAgate.store.appendEvents({
      tenantId,
      sessionId: late.id,
      events: [inc(1), inc(2)],
    });
    await held.atCommit;
    await append(after, [inc(1), inc(2)]);
    await ensureConsumer(db.pool, { tenantId, name: `${name}-probe`, types: null, slots: 1 });
    const probe = await joinConsumer(db.pool, {
      tenantId,
      name: `${name}-probe`,
      member: 'probe',
      leaseMs: 60_000,
    });
    const page = await receiveEvents(db.pool, probe, { limit: 1000 });
    expect(page.held).toBe(true);
    const ids = page.events.map((e) => e.sessionId);
    expect(ids).not.toContain(late.id);
    expect(ids).not.toContain(after.id);
    expect(got.filter((g) => g.startsWith(after.id) || g.startsWith(late.id))).toEqual([]);
    held.release();
    expect((await lateAppend).ok).toBe(true);
    await held.pool.end();
    await handle.idle();
    const mine = got.filter((g) => [late.id, after.id].some((id) => g.startsWith(id)));
    expect(mine).toEqual([`${late.id}:1`, `${late.id}:2`, `${after.id}:1`, `${after.id}:2`]);
    expect(reported.slice(before)).toEqual([]);
  });
});

describe('live wake-ups', () => {
  let wake: FeedWake;
  let listener: FeedWake;
  beforeAll(() => {
    wake = createFeedWake({ pool: db.pool, listen: false });
    listener = createFeedWake({ pool: db.pool });
  });
  afterAll(async () => {
    await wake.close();
    await listener.close();
  });

  it('tells another process’s listeners of an append through LISTEN, merging a burst', async () => {
    await listener.ready();
    let heard = 0;
    const unsubscribe = listener.subscribe(tenantId, () => (heard += 1));
    for (let i = 0; i < 20; i += 1) wake.notifyAppended(tenantId);
    await until('the notification to arrive', () => heard >= 1, 5_000);
    unsubscribe();
    expect(heard).toBeLessThanOrEqual(2);
  });

  it('handles a stream of appends in a few batches while events keep coming (gatherMs)', async () => {
    const live = createAgate({ pool: db.pool, games: tinyGames, consumers: false, feedWake: wake });
    const s = await newSession();
    const batches: number[][] = [];
    const handle = await start(db.pool, {
      tenantId,
      definition: {
        name: fresh('gather'),
        types: null,
        start: 'now',
        mode: 'at-least-once',
        handle: (events) => {
          const mine = events.filter((e) => e.sessionId === s.id).map((e) => e.sequence);
          if (mine.length > 0) batches.push(mine);
          return Promise.resolve();
        },
      },
      pollMs: 60_000,
      gatherMs: 500,
      wake: listener,
    });
    await handle.idle();
    for (let i = 1; i <= 20; i += 1) {
      const r = await live.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(i)] });
      expect(r.ok).toBe(true);
    }
    await until('the consumer to handle all 20', () => batches.flat().length === 20);
    expect(batches.flat()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Without gathering, a read per wake-up (at most one per 5 ms): 7 batches here; with a read at
    // most every 500 ms, one or two.
    expect(batches.length).toBeLessThanOrEqual(3);
  });

  it('wakes a caught-up consumer within moments of an append, long before its poll', async () => {
    const live = createAgate({ pool: db.pool, games: tinyGames, consumers: false, feedWake: wake });
    const s = await newSession();
    const got: number[] = [];
    const handle = await start(db.pool, {
      tenantId,
      definition: {
        name: fresh('live'),
        types: null,
        start: 'now',
        mode: 'at-least-once',
        handle: (events) => {
          for (const e of events) if (e.sessionId === s.id) got.push(e.sequence);
          return Promise.resolve();
        },
      },
      pollMs: 60_000,
      wake: listener,
    });
    await handle.idle();
    const appended = Date.now();
    expect(
      (await live.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(1)] })).ok,
    ).toBe(true);
    await until('the consumer to hear the append', () => got.length === 1, 10_000);
    const latency = Date.now() - appended;
    console.info(`feed: append to a woken consumer (poll 60 s) in ${latency} ms`);
    expect(latency).toBeLessThan(10_000);
    expect(got).toEqual([1]);
  });
});

describe('a consumer behind retention', () => {
  let archiveDb: TestDatabase;
  afterAll(() => archiveDb?.drop());

  it('reads the months retention moved to the archive, in order, chain checked', async () => {
    archiveDb = await createTestDatabase();
    const local = createAgate({ pool: archiveDb.pool, games: tinyGames, consumers: false });
    const tenant = (await createTenant(archiveDb.pool, { name: 'archive', actor: 'test' })).id;
    const now = new Date();
    const at = (months: number) =>
      new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15, 12));
    const session = await local.store.createSession({ tenantId: tenant, rules: 'tiny', seed: 'a' });
    for (const m of [0, 1, 3]) await appendAt(archiveDb.pool, session, at(m), tinyEvents(10));
    const report = await maintainPartitions(archiveDb.url, {
      backend: 'native',
      now: at(4),
      retentionMonths: 2,
    });
    expect(report.ran).toBe(true);
    const archived = await archiveDb.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM archive.events WHERE session_id = $1',
      [session.id],
    );
    expect(archived.rows[0]?.n).toBe(20);
    const sequences: number[] = [];
    const errors: unknown[] = [];
    const handle = await startConsumer(archiveDb.pool, {
      tenantId: tenant,
      definition: {
        name: 'behind',
        types: null,
        mode: 'at-least-once',
        handle: (events) => {
          sequences.push(...events.map((e) => e.sequence));
          return Promise.resolve();
        },
      },
      batchSize: 7,
      pollMs: 20,
      onError: (error) => errors.push(error),
    });
    await handle.idle();
    await handle.stop();
    expect(sequences).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(errors).toEqual([]);
  });
});
