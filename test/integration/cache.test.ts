import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { stateHash } from '../../replay/index.js';
import {
  currentState,
  hotStateConsumer,
  hotStateKey,
  hotStateTtlSeconds,
  readHotState,
  writeHotState,
} from '../../src/cache/index.js';
import type { HotState } from '../../src/cache/index.js';
import { readFeed } from '../../src/events/index.js';
import type { EventStore, NewEvent, Session } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;
let cache: TestRedis;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
  tenantId = (await createTenant(db.pool, { name: 'cache', actor: 'test' })).id;
  cache = createTestRedis('cache');
});
afterAll(async () => {
  await agate.close();
  await cache.close();
  await db.drop();
});

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });

async function sessionWith(count: number, store: EventStore = agate.store): Promise<Session> {
  const s = await store.createSession({ tenantId, rules: 'tiny' });
  await appendTo(s.id, count, store);
  return store.getSession({ tenantId, sessionId: s.id });
}

async function appendTo(sessionId: string, count: number, store: EventStore = agate.store) {
  const events = Array.from({ length: count }, (_, i) => inc(i + 1));
  expect((await store.appendEvents({ tenantId, sessionId, events })).ok).toBe(true);
}

function entry(sequence: number, state: unknown): HotState {
  return { sequence, stateHash: stateHash(state), state };
}

async function truthAt(sessionId: string, to?: number): Promise<HotState> {
  const r = await agate.replay({ tenantId, sessionId, to, from: 'genesis' });
  return { sequence: r.sequence, stateHash: r.stateHash, state: r.state };
}

describe('writing the hot state', () => {
  it('writes an entry only when the stored one has a lower sequence', async () => {
    const ref = { tenantId, sessionId: uuidv7() };
    const { redis, health } = cache;
    expect(await writeHotState(redis, health, { ...ref, ...entry(5, { n: 5 }) })).toBe('written');
    expect(await writeHotState(redis, health, { ...ref, ...entry(3, { n: 3 }) })).toBe('not_newer');
    expect(await writeHotState(redis, health, { ...ref, ...entry(5, { n: -5 }) })).toBe(
      'not_newer',
    );
    expect(await readHotState(redis, health, ref)).toEqual(entry(5, { n: 5 }));
    expect(await writeHotState(redis, health, { ...ref, ...entry(6, { n: 6 }) })).toBe('written');
    expect(await readHotState(redis, health, ref)).toEqual(entry(6, { n: 6 }));
    const ttl = await redis.ttl(hotStateKey(ref.tenantId, ref.sessionId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(hotStateTtlSeconds);
  });

  it('keeps the newest sequence when writers on two clients race', async () => {
    const ref = { tenantId, sessionId: uuidv7() };
    const other = cache.other();
    const sequences = Array.from({ length: 60 }, (_, i) => ((i * 37) % 60) + 1);
    const results = await Promise.all(
      sequences.map((sequence, i) =>
        writeHotState(i % 2 === 0 ? cache.redis : other, cache.health, {
          ...ref,
          ...entry(sequence, { n: sequence }),
        }),
      ),
    );
    expect(results).not.toContain('failed');
    expect(await readHotState(cache.redis, cache.health, ref)).toEqual(entry(60, { n: 60 }));
  });

  it('reads an entry whose state does not hash to its recorded hash as absent', async () => {
    const ref = { tenantId, sessionId: uuidv7() };
    const key = hotStateKey(ref.tenantId, ref.sessionId);
    await cache.redis.set(key, JSON.stringify({ ...entry(4, { n: 4 }), state: { n: 40 } }));
    const misses = cache.health.misses;
    expect(await readHotState(cache.redis, cache.health, ref)).toBeUndefined();
    expect(cache.health.misses).toBe(misses + 1);
  });
});

describe('currentState', () => {
  it('replays on a miss, fills the cache and serves it next time', async () => {
    const s = await sessionWith(60);
    const { hits, misses } = cache.health;
    const first = await currentState(agate, cache.redis, cache.health, {
      tenantId,
      sessionId: s.id,
    });
    const second = await currentState(agate, cache.redis, cache.health, {
      tenantId,
      sessionId: s.id.toUpperCase(),
    });
    const truth = await truthAt(s.id);
    expect(first).toEqual({ ...truth, source: 'replay' });
    expect(second).toEqual({ ...truth, source: 'cache' });
    expect(cache.health).toMatchObject({ hits: hits + 1, misses: misses + 1 });
  });

  it('never serves an entry from an older sequence, and refills it', async () => {
    const s = await sessionWith(30);
    const ref = { tenantId, sessionId: s.id };
    expect(
      await writeHotState(cache.redis, cache.health, { ...ref, ...(await truthAt(s.id, 25)) }),
    ).toBe('written');
    const got = await currentState(agate, cache.redis, cache.health, ref);
    expect(got).toEqual({ ...(await truthAt(s.id)), source: 'replay' });
    expect(await readHotState(cache.redis, cache.health, ref)).toMatchObject({ sequence: 30 });
    expect((await currentState(agate, cache.redis, cache.health, ref)).source).toBe('cache');
  });

  it('never serves another state written for an older sequence', async () => {
    const s = await sessionWith(30);
    const ref = { tenantId, sessionId: s.id };
    const planted = { ...((await truthAt(s.id, 29)).state as object), total: 999_999 };
    await writeHotState(cache.redis, cache.health, { ...ref, ...entry(29, planted) });
    const got = await currentState(agate, cache.redis, cache.health, ref);
    expect(got).toEqual({ ...(await truthAt(s.id)), source: 'replay' });
    expect((got.state as { total: number }).total).not.toBe(999_999);
  });

  it('replaces a corrupt entry at the current sequence', async () => {
    const s = await sessionWith(12);
    const ref = { tenantId, sessionId: s.id };
    const truth = await truthAt(s.id);
    const corrupt = { ...truth, state: { ...(truth.state as object), total: 1 } };
    await cache.redis.set(hotStateKey(tenantId, s.id), JSON.stringify(corrupt));
    expect(await currentState(agate, cache.redis, cache.health, ref)).toEqual({
      ...truth,
      source: 'replay',
    });
    expect(await readHotState(cache.redis, cache.health, ref)).toEqual(truth);
  });

  it('rebuilds a deleted key and a flushed cache on the next read', async () => {
    const s = await sessionWith(20);
    const ref = { tenantId, sessionId: s.id };
    await currentState(agate, cache.redis, cache.health, ref);
    await cache.redis.del(hotStateKey(tenantId, s.id));
    expect((await currentState(agate, cache.redis, cache.health, ref)).source).toBe('replay');
    expect((await currentState(agate, cache.redis, cache.health, ref)).source).toBe('cache');
    await cache.flush();
    expect(await cache.keys()).toEqual([]);
    expect((await currentState(agate, cache.redis, cache.health, ref)).source).toBe('replay');
    expect(await cache.keys()).toEqual([hotStateKey(tenantId, s.id)]);
  });

  it('answers without a cache at all', async () => {
    const s = await sessionWith(7);
    const got = await currentState(agate, null, cache.health, { tenantId, sessionId: s.id });
    expect(got).toEqual({ ...(await truthAt(s.id)), source: 'replay' });
    const other = (await createTenant(db.pool, { name: 'no cache', actor: 'test' })).id;
    for (const ref of [
      { tenantId, sessionId: uuidv7() },
      { tenantId: other, sessionId: s.id },
    ]) {
      await expect(currentState(agate, null, cache.health, ref)).rejects.toMatchObject({
        code: 'session_not_found',
      });
    }
  });

  it("says not found for another tenant's session, whatever the cache holds", async () => {
    const s = await sessionWith(3);
    const other = (await createTenant(db.pool, { name: 'other', actor: 'test' })).id;
    await writeHotState(cache.redis, cache.health, {
      tenantId: other,
      sessionId: s.id,
      ...(await truthAt(s.id)),
    });
    await expect(
      currentState(agate, cache.redis, cache.health, { tenantId: other, sessionId: s.id }),
    ).rejects.toMatchObject({ code: 'session_not_found' });
  });
});

describe('the agate.hot-state consumer', () => {
  it('keeps the hot state at the head, and a late delivery never rolls it back', async () => {
    const derived = createAgate({
      pool: db.pool,
      games: tinyGames,
      consumers: { redis: { client: cache.redis, health: cache.health } },
    });
    try {
      const errorsBefore = cache.health.errors;
      const s = await sessionWith(5, derived.store);
      const ref = { tenantId, sessionId: s.id };
      for (const count of [1, 9, 40]) {
        await appendTo(s.id, count, derived.store);
        await derived.idle();
        const head = await derived.store.getSession(ref);
        expect(await readHotState(cache.redis, cache.health, ref)).toEqual(await truthAt(s.id));
        expect((await readHotState(cache.redis, cache.health, ref))?.sequence).toBe(
          head.lastSequence,
        );
      }
      const late = hotStateConsumer(agate, cache.redis, cache.health);
      if (late.mode !== 'at-least-once') throw new Error('agate.hot-state is at-least-once');
      const first = await readFeed(agate, { tenantId, sessionId: s.id, limit: 5 });
      expect(first.events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
      await late.handle(first.events);
      expect(await readHotState(cache.redis, cache.health, ref)).toMatchObject({ sequence: 55 });
      expect((await currentState(agate, cache.redis, cache.health, ref)).source).toBe('cache');
      expect(cache.health.errors).toBe(errorsBefore);
    } finally {
      await derived.close();
    }
  });
});
