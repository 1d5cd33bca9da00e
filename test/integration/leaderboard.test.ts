import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { stateHash } from '../../replay/index.js';
import {
  currentState,
  leaderboardBuiltKey,
  leaderboardKey,
  readLeaderboard,
  rebuildLeaderboard,
  submitVerifiedScore,
  writeHotState,
} from '../../src/cache/index.js';
import type { NewEvent } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { closeRedis, createDownRedis, createTestRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';
import type { TinyState } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let cache: TestRedis;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames });
  cache = createTestRedis('leaderboard');
});
afterAll(async () => {
  await agate.close();
  await cache.close();
  await db.drop();
});

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });

async function newTenant(): Promise<string> {
  return (await createTenant(db.pool, { name: 'leaderboard', actor: 'test' })).id;
}

/** A session whose events earn `total`, ended unless told otherwise. */
async function played(tenantId: string, total: number, end = true): Promise<string> {
  const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
  const events = [inc(total - 1), inc(1), { type: 'note.written', data: { text: 'x' } }];
  expect((await agate.store.appendEvents({ tenantId, sessionId: s.id, events })).ok).toBe(true);
  if (end) expect((await agate.store.endSession({ tenantId, sessionId: s.id })).ok).toBe(true);
  await agate.idle();
  return s.id;
}

const read = (tenantId: string, limit = 10) =>
  readLeaderboard(agate, cache.redis, cache.health, { tenantId, rules: 'tiny', limit });
const submit = (tenantId: string, sessionId: string) =>
  submitVerifiedScore(agate, cache.redis, cache.health, { tenantId, sessionId });

/** Changes the store behind its back, as a superuser with triggers off would. */
async function tamper(sql: string, values: unknown[]): Promise<void> {
  await agate.idle();
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    expect((await client.query(sql, values)).rowCount).toBe(1);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

describe('submitting a score', () => {
  it('takes only ended sessions whose replay from genesis verifies', async () => {
    const tenantId = await newTenant();
    const ended = await played(tenantId, 10);
    const active = await played(tenantId, 50, false);
    const tampered = await played(tenantId, 70);
    await tamper(
      `UPDATE game.events SET event_data = '{"by": 1000}' WHERE session_id = $1 AND sequence = 1`,
      [tampered],
    );
    expect(await submit(tenantId, ended)).toEqual({ accepted: true, score: 10, stored: true });
    expect(await submit(tenantId, active)).toEqual({ accepted: false, reason: 'not_ended' });
    expect(await submit(tenantId, tampered)).toEqual({ accepted: false, reason: 'not_verified' });
    expect(await read(tenantId)).toEqual([{ sessionId: ended, score: 10, rank: 1 }]);
    await expect(submit(tenantId, uuidv7())).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('a score planted in the hot state never reaches the board', async () => {
    const tenantId = await newTenant();
    const sessionId = await played(tenantId, 8);
    const truth = await agate.replay({ tenantId, sessionId });
    const planted = { ...(truth.state as TinyState), total: 1_000_000 };
    await writeHotState(
      cache.redis,
      cache.health,
      {
        tenantId,
        sessionId,
        sequence: truth.sequence,
        stateHash: stateHash(planted),
        state: planted,
      },
      { replaceSameSequence: true },
    );
    // The hot state is only a cache: it does serve the planted state...
    const hot = await currentState(agate, cache.redis, cache.health, { tenantId, sessionId });
    expect(hot).toMatchObject({ source: 'cache', state: { total: 1_000_000 } });
    // ...but the board takes what the events earn.
    expect(await submit(tenantId, sessionId)).toMatchObject({ accepted: true, score: 8 });
    expect(await read(tenantId)).toEqual([{ sessionId, score: 8, rank: 1 }]);
    await cache.redis.del(leaderboardKey(tenantId, 'tiny'));
    expect(await read(tenantId)).toEqual([{ sessionId, score: 8, rank: 1 }]);
  });

  it('a forged snapshot with a matching hash never reaches the board', async () => {
    const tenantId = await newTenant();
    const honest = await played(tenantId, 3);
    const forgedId = await played(tenantId, 4, false);
    expect(await submit(tenantId, honest)).toMatchObject({ accepted: true, score: 3 });
    const board = await read(tenantId);
    expect((await agate.store.endSession({ tenantId, sessionId: forgedId })).ok).toBe(true);
    const truth = await agate.replay({ tenantId, sessionId: forgedId });
    const forged = { ...(truth.state as TinyState), total: 1_000_000 };
    await db.pool.query(
      `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
       VALUES ($1, $2, $3, $4, 1, $5, $6, 'manual')`,
      [
        uuidv7(),
        tenantId,
        forgedId,
        truth.sequence,
        JSON.stringify(forged),
        Buffer.from(stateHash(forged), 'hex'),
      ],
    );
    // A replay from snapshots now believes the forgery...
    const fooled = await agate.replay({ tenantId, sessionId: forgedId });
    expect(fooled).toMatchObject({ snapshotUsed: { sequence: truth.sequence }, state: forged });
    // ...the leaderboard does not: verify finds the snapshot disagreeing with the events. (A
    // session already on the board would leave it at the next rebuild, until the snapshot is
    // repaired.)
    expect(await submit(tenantId, forgedId)).toEqual({ accepted: false, reason: 'not_verified' });
    expect(await read(tenantId)).toEqual(board);
    const rebuilt = await rebuildLeaderboard(agate, cache.redis, cache.health, {
      tenantId,
      rules: 'tiny',
    });
    expect(rebuilt.rejected).toEqual([{ sessionId: forgedId, reason: 'not_verified' }]);
    expect(await read(tenantId)).toEqual(board);
    expect(board).toEqual([{ sessionId: honest, score: 3, rank: 1 }]);
  });
});

describe('reading a board', () => {
  it('ranks the highest score first, ties by session id, and stops at the limit', async () => {
    const tenantId = await newTenant();
    const scores = [5, 30, 12, 30, 1];
    const ids = await Promise.all(scores.map((total) => played(tenantId, total)));
    const tied = [ids[1], ids[3]].sort().reverse();
    const expected = [
      { sessionId: tied[0], score: 30, rank: 1 },
      { sessionId: tied[1], score: 30, rank: 2 },
      { sessionId: ids[2], score: 12, rank: 3 },
    ];
    expect(await read(tenantId, 3)).toEqual(expected);
    expect((await read(tenantId, 10)).map((e) => e.score)).toEqual([30, 30, 12, 5, 1]);
    const fromDatabase = await readLeaderboard(agate, null, cache.health, {
      tenantId,
      rules: 'tiny',
      limit: 3,
    });
    expect(fromDatabase).toEqual(expected);
    await expect(read(tenantId, 0)).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('serves a built board from Redis and adds a session submitted after the build', async () => {
    const tenantId = await newTenant();
    const first = await played(tenantId, 2);
    expect(await read(tenantId)).toEqual([{ sessionId: first, score: 2, rank: 1 }]);
    const later = await played(tenantId, 9);
    expect(await submit(tenantId, later)).toMatchObject({ accepted: true, stored: true });
    const hits = cache.health.hits;
    expect(await read(tenantId)).toEqual([
      { sessionId: later, score: 9, rank: 1 },
      { sessionId: first, score: 2, rank: 2 },
    ]);
    expect(cache.health.hits).toBe(hits + 1);
  });

  it('rebuilds the board when its set was deleted or Redis was flushed', async () => {
    const tenantId = await newTenant();
    await Promise.all([4, 6, 5].map((total) => played(tenantId, total)));
    const board = await read(tenantId);
    expect(board.map((e) => e.score)).toEqual([6, 5, 4]);
    await cache.redis.del(leaderboardKey(tenantId, 'tiny'));
    const misses = cache.health.misses;
    expect(await read(tenantId)).toEqual(board);
    expect(cache.health.misses).toBe(misses + 1);
    await cache.flush();
    const [again, concurrent] = await Promise.all([read(tenantId), read(tenantId)]);
    expect(again).toEqual(board);
    expect(concurrent).toEqual(board);
    expect(await cache.keys()).toEqual(
      [leaderboardBuiltKey(tenantId, 'tiny'), leaderboardKey(tenantId, 'tiny')].sort(),
    );
  });

  it('a rebuild drops an entry that the events do not earn', async () => {
    const tenantId = await newTenant();
    const sessionId = await played(tenantId, 7);
    await read(tenantId);
    await cache.redis.zadd(leaderboardKey(tenantId, 'tiny'), 1_000_000, sessionId, 5, uuidv7());
    const result = await rebuildLeaderboard(agate, cache.redis, cache.health, {
      tenantId,
      rules: 'tiny',
    });
    expect(result).toEqual({ built: true, scores: [{ sessionId, score: 7 }], rejected: [] });
    expect(await read(tenantId)).toEqual([{ sessionId, score: 7, rank: 1 }]);
  });

  it('with Redis down, ranks from PostgreSQL by replay and counts the error', async () => {
    const tenantId = await newTenant();
    await Promise.all([3, 9].map((total) => played(tenantId, total)));
    const expected = await read(tenantId);
    const down = createDownRedis();
    try {
      const got = await readLeaderboard(agate, down.redis, down.health, {
        tenantId,
        rules: 'tiny',
        limit: 10,
      });
      expect(got).toEqual(expected);
      expect(down.health.errors).toBeGreaterThan(0);
      const sessionId = await played(tenantId, 1);
      expect(
        await submitVerifiedScore(agate, down.redis, down.health, { tenantId, sessionId }),
      ).toEqual({ accepted: true, score: 1, stored: false });
    } finally {
      await closeRedis(down.redis);
    }
  });

  it('keeps tenants and rules apart', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const inA = await played(a, 5);
    await played(b, 6);
    expect(await read(a)).toEqual([{ sessionId: inA, score: 5, rank: 1 }]);
    expect(
      await readLeaderboard(agate, cache.redis, cache.health, {
        tenantId: a,
        rules: 'x',
        limit: 5,
      }),
    ).toEqual([]);
  });
});
