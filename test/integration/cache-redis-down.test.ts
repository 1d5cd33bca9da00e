import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import {
  currentState,
  readLeaderboard,
  submitVerifiedScore,
  writeHotState,
} from '../../src/cache/index.js';
import type { CacheHealth } from '../../src/cache/index.js';
import type { Pool } from '../../src/db/index.js';
import { listSessionSnapshots } from '../../src/events/index.js';
import type { NewEvent } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { closeRedis, createDownRedis, createTestRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;
let down: { redis: Redis; health: CacheHealth };
let live: TestRedis;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
  tenantId = (await createTenant(db.pool, { name: 'down', actor: 'test' })).id;
  down = createDownRedis();
  live = createTestRedis('cache-down');
});
afterAll(async () => {
  await agate.close();
  await closeRedis(down.redis);
  await live.close();
  await db.drop();
});

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const note = (): NewEvent => ({ type: 'note.written', data: { text: 'day' } });

/** agate as a deployment wires it: its own consumers in process, with this Redis or none. */
function agateWith(pool: Pool, cache: { redis: Redis; health: CacheHealth } | null): Agate {
  return createAgate({
    pool,
    games: tinyGames,
    consumers: { redis: cache && { client: cache.redis, health: cache.health } },
  });
}

describe('with Redis down', () => {
  it('currentState answers from replay and counts the errors', async () => {
    const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
    await agate.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(1), inc(2)] });
    const ref = { tenantId, sessionId: s.id };
    const truth = await agate.replay(ref);
    for (let i = 0; i < 2; i += 1) {
      const before = down.health.errors;
      expect(await currentState(agate, down.redis, down.health, ref)).toEqual({
        sequence: 2,
        stateHash: truth.stateHash,
        state: truth.state,
        source: 'replay',
      });
      expect(down.health.errors).toBeGreaterThan(before);
    }
    expect(down.health.lastError).toEqual(expect.any(String));
    expect(down.health.hits).toBe(0);
  });

  it('a write reports failed instead of throwing', async () => {
    const before = down.health.errors;
    const ref = { tenantId, sessionId: uuidv7() };
    const result = await writeHotState(down.redis, down.health, {
      ...ref,
      sequence: 1,
      stateHash: 'x',
      state: {},
    });
    expect(result).toBe('failed');
    expect(down.health.errors).toBe(before + 1);
  });

  it('the agate.hot-state consumer never fails an append, counts its errors and moves on', async () => {
    const derived = agateWith(db.pool, down);
    try {
      const s = await derived.store.createSession({ tenantId, rules: 'tiny' });
      const before = down.health.errors;
      for (let i = 0; i < 3; i += 1) {
        const events = [inc(i), note()];
        const r = await derived.store.appendEvents({ tenantId, sessionId: s.id, events });
        expect(r.ok).toBe(true);
      }
      await derived.idle();
      expect(down.health.errors).toBeGreaterThan(before);
      const ref = { tenantId, sessionId: s.id };
      expect((await derived.store.getSession(ref)).lastSequence).toBe(6);
      // The snapshots do not depend on Redis: every day end has one.
      const snaps = await listSessionSnapshots(derived, ref);
      expect(snaps.map((x) => x.sequence).sort((a, b) => a - b)).toEqual([2, 4, 6]);
    } finally {
      await derived.close();
    }
  });
});

/** Every row of every table, without the columns that differ between two runs of one script. */
async function dump(pool: Pool): Promise<Record<string, string[]>> {
  const times = ['created_at', 'updated_at', 'server_time', 'occurred_at'];
  // Writing transactions' ids are the cluster's, so two databases never share them.
  const clusterWide = ['transaction_id'];
  // Session secrets are drawn at random when the session is created.
  const volatile = new Set([
    ...times,
    ...clusterWide,
    'ended_at',
    'first_event_at',
    'last_event_at',
    'secret',
  ]);
  const tables = await pool.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE'
        -- The consumers' bookkeeping (members, leases, positions) differs between any two runs.
        AND table_schema NOT IN ('pg_catalog', 'information_schema', 'feed')
      ORDER BY 1`,
  );
  const out: Record<string, string[]> = {};
  for (const { name } of tables.rows) {
    const rows = await pool.query<{ row: Record<string, unknown> }>(
      `SELECT to_jsonb(t) AS row FROM ${name} t`,
    );
    out[name] = rows.rows
      .map(({ row }) => {
        // Snapshot and audit ids are drawn when the row is written.
        const randomId = /snapshots|audit_log/.test(name);
        const kept = Object.entries(row).filter(
          ([k]) => !volatile.has(k) && !(randomId && k === 'id'),
        );
        return JSON.stringify(kept);
      })
      .sort();
  }
  return out;
}

/** One game played end to end through the cache, with ids fixed so two runs can be compared. */
async function play(
  db: TestDatabase,
  redis: Redis,
  health: CacheHealth,
  ids: string[],
  configured: boolean,
) {
  const [tenant, session, end, ...eventIds] = ids as [string, string, string, ...string[]];
  const agate = agateWith(db.pool, configured ? { redis, health } : null);
  await createTenant(db.pool, { id: tenant, name: 'same', actor: 'test' });
  const { store } = agate;
  const ref = { tenantId: tenant, sessionId: session };
  await store.createSession({ ...ref, id: session, rules: 'tiny', seed: 'same-seed' });
  for (let at = 0; at < eventIds.length; at += 13) {
    const events = eventIds
      .slice(at, at + 13)
      .map((eventId, i) => ({ ...((at + i) % 10 === 9 ? note() : inc(at + i)), eventId }));
    expect((await store.appendEvents({ ...ref, events })).ok).toBe(true);
    await currentState(agate, redis, health, ref);
  }
  await store.endSession({ ...ref, eventId: end });
  expect(await submitVerifiedScore(agate, redis, health, ref)).toMatchObject({ accepted: true });
  expect(await readLeaderboard(agate, redis, health, { ...ref, rules: 'tiny', limit: 5 })).toEqual([
    expect.objectContaining({ sessionId: session, rank: 1 }),
  ]);
  await agate.idle();
  await agate.close();
}

describe('PostgreSQL without Redis', () => {
  it('holds exactly the same data as with Redis', async () => {
    const ids = Array.from({ length: 3 + 70 }, () => uuidv7());
    const withRedis = await createTestDatabase({ max: 4 });
    const withoutRedis = await createTestDatabase({ max: 4 });
    try {
      await play(withRedis, live.redis, live.health, ids, true);
      await play(withoutRedis, down.redis, down.health, ids, false);
      const a = await dump(withRedis.pool);
      expect(a['game.events']).toHaveLength(71);
      expect(a['game.snapshots']?.length).toBeGreaterThan(5);
      expect(await dump(withoutRedis.pool)).toEqual(a);
      expect(live.health.errors).toBe(0);
      expect(await live.keys()).not.toEqual([]);
    } finally {
      await withRedis.drop();
      await withoutRedis.drop();
    }
  });
});
