import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { readHotState, readLeaderboard } from '../../src/cache/index.js';
import { listSessionSnapshots } from '../../src/events/index.js';
import type { AfterAppend, AppendedBatch, NewEvent } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { snapshotSession } from '../../src/snapshots/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let tenantId: string;
let cache: TestRedis;

beforeAll(async () => {
  db = await createTestDatabase();
  tenantId = (await createTenant(db.pool, { name: 'create agate', actor: 'test' })).id;
  cache = createTestRedis('create-agate');
});
afterAll(async () => {
  await cache.close();
  await db.drop();
});

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const events = (count: number) => Array.from({ length: count }, (_, i) => inc(i + 1));

describe('the after-append hooks createAgate is given', () => {
  it('runs each hook once per committed batch in order, and reports a failing one once without skipping the next', async () => {
    const calls: string[] = [];
    const reported: { error: unknown; batch: AppendedBatch }[] = [];
    const failure = new Error('hook failed');
    const record =
      (name: string): AfterAppend =>
      async (batch) => {
        calls.push(`${name}:${batch.firstSequence}-${batch.lastSequence}`);
        await Promise.resolve();
      };
    const failing: AfterAppend = async () => {
      calls.push('failing');
      await Promise.reject(failure);
    };
    const agate = createAgate({
      pool: db.pool,
      games: tinyGames,
      consumers: false,
      afterAppend: [record('first'), failing, record('last')],
      onAfterAppendError: (error, batch) => reported.push({ error, batch }),
    });
    const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
    const batch = events(3).map((e) => ({ ...e, eventId: uuidv7() }));

    expect((await agate.store.appendEvents({ tenantId, sessionId: s.id, events: batch })).ok).toBe(
      true,
    );
    expect(calls).toEqual(['first:1-3', 'failing', 'last:1-3']);
    expect(reported).toHaveLength(1);
    expect(reported[0]?.error).toBe(failure);
    expect(reported[0]?.batch).toMatchObject({
      sessionId: s.id,
      firstSequence: 1,
      lastSequence: 3,
    });

    // A retry of the same batch commits nothing new, so no hook runs again.
    expect((await agate.store.appendEvents({ tenantId, sessionId: s.id, events: batch })).ok).toBe(
      true,
    );
    expect(calls).toHaveLength(3);
    expect(reported).toHaveLength(1);
    await agate.close();
  });

  it('announces each committed append on the feed wake before the hooks it is given', async () => {
    const agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
    try {
      const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
      const woken: string[] = [];
      const unsubscribe = agate.wake.subscribe(tenantId, () => woken.push(tenantId));
      await agate.store.appendEvents({ tenantId, sessionId: s.id, events: events(2) });
      unsubscribe();
      expect(woken).toEqual([tenantId]);
    } finally {
      await agate.close();
    }
  });
});

describe("agate's own consumers in process", () => {
  it('derives snapshots, hot state and the board from the feed, waited for with idle()', async () => {
    const agate = createAgate({
      pool: db.pool,
      games: tinyGames,
      consumers: { redis: { client: cache.redis, health: cache.health } },
    });
    try {
      const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
      const ref = { tenantId, sessionId: s.id };
      await agate.store.appendEvents({ ...ref, events: events(30) });
      await agate.store.appendEvents({ ...ref, events: events(25) });
      expect((await agate.store.endSession(ref)).ok).toBe(true);
      await agate.idle();

      const snaps = await listSessionSnapshots(agate, ref);
      expect(snaps.map((x) => x.sequence)).toEqual([50]);
      expect(snaps[0]?.stateHash).toBe((await agate.replay({ ...ref, to: 50 })).stateHash);
      const replayed = await agate.replay(ref);
      expect(await readHotState(cache.redis, cache.health, ref)).toEqual({
        sequence: 56,
        stateHash: replayed.stateHash,
        state: replayed.state,
      });
      const board = await readLeaderboard(agate, cache.redis, cache.health, {
        tenantId,
        rules: 'tiny',
        limit: 10,
      });
      expect(board.map((e) => e.sessionId)).toContain(s.id);
    } finally {
      await agate.close();
    }
  });

  it('picks up a tenant created after it started', async () => {
    const agate = createAgate({ pool: db.pool, games: tinyGames });
    try {
      await agate.idle();
      const late = (await createTenant(db.pool, { name: 'late tenant', actor: 'test' })).id;
      const s = await agate.store.createSession({ tenantId: late, rules: 'tiny' });
      const ref = { tenantId: late, sessionId: s.id };
      await agate.store.appendEvents({ ...ref, events: events(50) });
      await agate.idle();
      expect((await listSessionSnapshots(agate, ref)).map((x) => x.sequence)).toEqual([50]);
    } finally {
      await agate.close();
    }
  });

  it('writes nothing derived when told the consumers run elsewhere', async () => {
    const agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
    try {
      expect(agate.consumers).toBeNull();
      const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
      const ref = { tenantId, sessionId: s.id };
      await agate.store.appendEvents({ ...ref, events: events(50) });
      await agate.idle();
      expect(await listSessionSnapshots(agate, ref)).toEqual([]);
    } finally {
      await agate.close();
    }
  });
});

describe('replay dependencies', () => {
  it('writes a manual snapshot with only the pool and the games', async () => {
    const agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
    const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
    const ref = { tenantId, sessionId: s.id };
    await agate.store.appendEvents({ ...ref, events: events(2) });

    const written = await snapshotSession({ pool: db.pool, games: tinyGames }, ref);
    expect(written).toEqual({
      sequence: 2,
      stateHash: (await agate.replay(ref)).stateHash,
      created: true,
    });
    await agate.close();
  });
});
