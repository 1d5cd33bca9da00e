import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hotStateConsumer,
  leaderboardsConsumer,
  readHotState,
  readLeaderboard,
  updateHotState,
  writeHotState,
} from '../../src/cache/index.js';
import type { HotStateUpdate } from '../../src/cache/index.js';
import {
  createEventStore,
  groupBySession,
  listSessionSnapshots,
  readFeed,
  sessionOrigins,
} from '../../src/events/index.js';
import type { EventStore, FeedEvent, FeedPosition, NewEvent } from '../../src/events/index.js';
import { replaySession } from '../../replay/index.js';
import { snapshotFeedEvents, snapshotMemory } from '../../src/snapshots/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createDownRedis, createTestRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let store: EventStore;
let cache: TestRedis;
let deps: { pool: TestDatabase['pool']; games: typeof tinyGames };

beforeAll(async () => {
  db = await createTestDatabase();
  deps = { pool: db.pool, games: tinyGames };
  store = createEventStore({ pool: db.pool, catalog: tinyGames.eventTypes });
  cache = createTestRedis('derived');
});
afterAll(async () => {
  await cache.close();
  await db.drop();
});

/** Old and new versions, dice from the server's seeds, day ends: what the fold must get right. */
function eventAt(n: number): NewEvent {
  if (n % 13 === 0) return { type: 'note.written', version: 1, data: { text: `day ${n}` } };
  if (n % 5 === 0) return { type: 'dice.rolled', version: 1, data: { sides: 6 } };
  if (n % 2 === 0) return { type: 'counter.incremented', version: 1, data: { by: n } };
  return { type: 'counter.incremented', version: 2, data: { by: n, note: 'x' } };
}

async function freshTenant(name: string): Promise<string> {
  return (await createTenant(db.pool, { name, actor: 'test' })).id;
}

async function sessionOf(tenantId: string, batches: readonly number[]): Promise<string> {
  const { id } = await store.createSession({ tenantId, rules: 'tiny' });
  let n = 0;
  for (const size of batches) {
    const events = Array.from({ length: size }, () => eventAt((n += 1)));
    expect((await store.appendEvents({ tenantId, sessionId: id, events })).ok).toBe(true);
  }
  return id;
}

/**
 * The tenant's feed once it holds `count` events (any open write transaction in the cluster,
 * another test's included, holds the feed back for a while), read in pages as a consumer would.
 */
async function feedOf(
  tenantId: string,
  count: number,
  types: readonly string[] | null = null,
): Promise<FeedEvent[]> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const all: FeedEvent[] = [];
    let after: FeedPosition | undefined;
    for (;;) {
      const page = await readFeed(deps, { tenantId, after, limit: 1_000, types });
      all.push(...page.events);
      if (page.events.length < 1_000) break;
      after = page.events.at(-1)?.position;
    }
    if (all.length >= count) return all;
    if (Date.now() > deadline) throw new Error(`The feed held ${all.length} of ${count} events.`);
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
  }
}

/** The session's snapshots, oldest first. */
async function snapshotsOf(tenantId: string, sessionId: string) {
  const snaps = await listSessionSnapshots(deps, { tenantId, sessionId });
  return snaps.sort((a, b) => a.sequence - b.sequence);
}

async function truth(tenantId: string, sessionId: string, to?: number) {
  const r = await replaySession(deps, { tenantId, sessionId, to, from: 'genesis' });
  return { sequence: r.sequence, stateHash: r.stateHash, state: r.state };
}

describe('agate.snapshots over the feed', () => {
  it('writes a snapshot at every 50th event and every day end, each equal to a replay', async () => {
    const tenantId = await freshTenant('snapshots');
    const sessionId = await sessionOf(tenantId, [7, 40, 60, 13]);
    const events = await feedOf(tenantId, 120);
    // Delivered in small pages, as a consumer would get them.
    for (let at = 0; at < events.length; at += 9) {
      await snapshotFeedEvents(deps, events.slice(at, at + 9));
    }
    const snaps = await snapshotsOf(tenantId, sessionId);
    const expected = [13, 26, 39, 50, 52, 65, 78, 91, 100, 104, 117];
    expect(snaps.map((s) => s.sequence)).toEqual(expected);
    expect(snaps.find((s) => s.sequence === 50)?.reason).toBe('interval');
    expect(snaps.find((s) => s.sequence === 52)?.reason).toBe('day_boundary');
    for (const snap of snaps) {
      expect(snap.stateHash).toBe((await truth(tenantId, sessionId, snap.sequence)).stateHash);
    }
  });

  it('folds each page on from the state it remembers, equal to a replay, and replays when the memory does not chain', async () => {
    const tenantId = await freshTenant('snapshots-memory');
    const sessionId = await sessionOf(tenantId, [7, 40, 60, 13]);
    const events = await feedOf(tenantId, 120);
    const origins = sessionOrigins(deps);
    const memory = snapshotMemory();
    const key = `${tenantId}/${sessionId}`;
    for (let at = 0; at < 63; at += 9) {
      await snapshotFeedEvents(deps, events.slice(at, at + 9), origins, memory);
      // Events 1-9 call for no snapshot and have nothing to fold on from: not even read.
      expect(memory.get(key)?.sequence).toBe(at === 0 ? undefined : at + 9);
    }
    // A remembered state whose head is not the stored one: the page is folded from a replay.
    const remembered = memory.get(key);
    if (remembered === undefined) throw new Error('nothing remembered');
    memory.set(key, { ...remembered, state: { forged: true }, previousHash: Buffer.alloc(32) });
    await snapshotFeedEvents(deps, events.slice(63), origins, memory);
    const snaps = await snapshotsOf(tenantId, sessionId);
    expect(snaps.map((s) => s.sequence)).toEqual([13, 26, 39, 50, 52, 65, 78, 91, 100, 104, 117]);
    for (const snap of snaps) {
      expect(snap.stateHash).toBe((await truth(tenantId, sessionId, snap.sequence)).stateHash);
    }
    expect(memory.get(key)?.sequence).toBe(120);
  });

  it('writes nothing more when the same events are delivered again', async () => {
    const tenantId = await freshTenant('snapshots-again');
    const sessionId = await sessionOf(tenantId, [60]);
    const events = await feedOf(tenantId, 60);
    expect(await snapshotFeedEvents(deps, events)).toBe(5);
    expect(await snapshotFeedEvents(deps, events)).toBe(0);
    expect(await snapshotFeedEvents(deps, events.slice(40))).toBe(0);
    const snaps = await snapshotsOf(tenantId, sessionId);
    expect(snaps.map((s) => s.sequence)).toEqual([13, 26, 39, 50, 52]);
  });

  it('keeps sessions apart within one delivered batch', async () => {
    const tenantId = await freshTenant('snapshots-mixed');
    const a = await sessionOf(tenantId, [30]);
    const b = await sessionOf(tenantId, [50]);
    await sessionOf(tenantId, [12]);
    const events = await feedOf(tenantId, 92);
    expect(groupBySession(events).map((g) => g.events.length)).toEqual([30, 50, 12]);
    expect(await snapshotFeedEvents(deps, events)).toBe(2 + 4);
    const seqs = async (sessionId: string) =>
      (await snapshotsOf(tenantId, sessionId)).map((s) => s.sequence);
    expect(await seqs(a)).toEqual([13, 26]);
    expect(await seqs(b)).toEqual([13, 26, 39, 50]);
  });
});

describe('agate.hot-state over the feed', () => {
  it('folds delivered events on top of the cached entry and ends equal to a replay', async () => {
    const tenantId = await freshTenant('hot-fold');
    const sessionId = await sessionOf(tenantId, [20, 31]);
    const events = await feedOf(tenantId, 51);
    const ref = { tenantId, sessionId };
    await writeHotState(cache.redis, cache.health, {
      ...ref,
      ...(await truth(tenantId, sessionId, 20)),
    });
    const group = { ...ref, events: events.slice(20) };
    expect(await updateHotState(deps, cache.redis, cache.health, group)).toBe('folded');
    const hot = await readHotState(cache.redis, cache.health, ref);
    expect(hot).toEqual(await truth(tenantId, sessionId));
    expect(hot?.sequence).toBe(51);
  });

  it('folds only the events after an entry that already covers part of the batch', async () => {
    const tenantId = await freshTenant('hot-overlap');
    const sessionId = await sessionOf(tenantId, [25]);
    const events = await feedOf(tenantId, 25);
    const ref = { tenantId, sessionId };
    await writeHotState(cache.redis, cache.health, {
      ...ref,
      ...(await truth(tenantId, sessionId, 10)),
    });
    expect(await updateHotState(deps, cache.redis, cache.health, { ...ref, events })).toBe(
      'folded',
    );
    expect(await readHotState(cache.redis, cache.health, ref)).toEqual(
      await truth(tenantId, sessionId),
    );
  });

  it('replays when the entry is missing or stands before a hole, never folding across it', async () => {
    const tenantId = await freshTenant('hot-replay');
    const sessionId = await sessionOf(tenantId, [10, 10, 10]);
    const events = await feedOf(tenantId, 30);
    const ref = { tenantId, sessionId };
    expect(
      await updateHotState(deps, cache.redis, cache.health, {
        ...ref,
        events: events.slice(0, 10),
      }),
    ).toBe('replayed');
    // The entry is at 10; the next delivery starts at 21: folding would skip 11..20.
    const update = await updateHotState(deps, cache.redis, cache.health, {
      ...ref,
      events: events.slice(20),
    });
    expect(update).toBe('replayed');
    expect(await readHotState(cache.redis, cache.health, ref)).toEqual(
      await truth(tenantId, sessionId),
    );
  });

  it('replays rather than fold on an entry that does not hash to its recorded hash', async () => {
    const tenantId = await freshTenant('hot-corrupt');
    const sessionId = await sessionOf(tenantId, [5, 5]);
    const events = await feedOf(tenantId, 10);
    const ref = { tenantId, sessionId };
    const at5 = await truth(tenantId, sessionId, 5);
    const forged = { ...at5, state: { ...(at5.state as object), total: 1_000_000 } };
    await writeHotState(cache.redis, cache.health, { ...ref, ...forged });
    expect(
      await updateHotState(deps, cache.redis, cache.health, { ...ref, events: events.slice(5) }),
    ).toBe('replayed');
    expect(await readHotState(cache.redis, cache.health, ref)).toEqual(
      await truth(tenantId, sessionId),
    );
  });

  it('never writes an older state over a newer one when a batch is delivered again', async () => {
    const tenantId = await freshTenant('hot-again');
    const sessionId = await sessionOf(tenantId, [8, 8]);
    const events = await feedOf(tenantId, 16);
    const ref = { tenantId, sessionId };
    const seen: HotStateUpdate[] = [];
    const consumer = hotStateConsumer(deps, cache.redis, cache.health, (_, how) => seen.push(how));
    if (consumer.mode !== 'at-least-once') throw new Error('agate.hot-state must be at-least-once');
    expect(consumer.name).toBe('agate.hot-state');
    expect(consumer.types).toBeNull();
    await consumer.handle(events);
    await consumer.handle(events.slice(0, 8));
    await consumer.handle(events);
    expect(seen).toEqual(['replayed', 'current', 'current']);
    expect(await readHotState(cache.redis, cache.health, ref)).toEqual(
      await truth(tenantId, sessionId),
    );
  });

  it('counts Redis being down instead of throwing, and a later batch catches up', async () => {
    const tenantId = await freshTenant('hot-down');
    const sessionId = await sessionOf(tenantId, [6, 6]);
    const events = await feedOf(tenantId, 12);
    const ref = { tenantId, sessionId };
    const down = createDownRedis();
    try {
      const update = await updateHotState(deps, down.redis, down.health, {
        ...ref,
        events: events.slice(0, 6),
      });
      expect(update).toBe('failed');
      expect(down.health.errors).toBeGreaterThan(0);
    } finally {
      down.redis.disconnect();
    }
    const later = await updateHotState(deps, cache.redis, cache.health, {
      ...ref,
      events: events.slice(6),
    });
    expect(later).toBe('replayed');
    expect(await readHotState(cache.redis, cache.health, ref)).toEqual(
      await truth(tenantId, sessionId),
    );
  });
});

describe('agate.leaderboards over the feed', () => {
  it('takes only session.ended and puts each verified score on the board once', async () => {
    const tenantId = await freshTenant('boards');
    const ended = await sessionOf(tenantId, [4]);
    expect((await store.endSession({ tenantId, sessionId: ended })).ok).toBe(true);
    await sessionOf(tenantId, [3]);
    const consumer = leaderboardsConsumer(deps, cache.redis, cache.health);
    if (consumer.mode !== 'at-least-once')
      throw new Error('agate.leaderboards must be at-least-once');
    expect(consumer.types).toEqual(['session.ended']);
    const endings = await feedOf(tenantId, 1, consumer.types);
    expect(endings.map((e) => e.sessionId)).toEqual([ended]);
    await consumer.handle(endings);
    await consumer.handle(endings);
    const board = await readLeaderboard(deps, cache.redis, cache.health, {
      tenantId,
      rules: 'tiny',
      limit: 10,
    });
    const score = (await truth(tenantId, ended)).state as { total: number };
    expect(board).toEqual([{ sessionId: ended, score: score.total, rank: 1 }]);
  });

  it('throws while Redis is down, so the event is delivered again', async () => {
    const tenantId = await freshTenant('boards-down');
    const ended = await sessionOf(tenantId, [2]);
    expect((await store.endSession({ tenantId, sessionId: ended })).ok).toBe(true);
    const endings = await feedOf(tenantId, 1, ['session.ended']);
    const down = createDownRedis();
    try {
      const consumer = leaderboardsConsumer(deps, down.redis, down.health);
      if (consumer.mode !== 'at-least-once')
        throw new Error('agate.leaderboards must be at-least-once');
      await expect(consumer.handle(endings)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      down.redis.disconnect();
    }
  });
});

describe('the session origins the consumers fold from', () => {
  it('reads a session once, gives what it starts from, and never remembers a session it did not find', async () => {
    const tenantId = await freshTenant('origins');
    const other = await freshTenant('origins-other');
    const id = await sessionOf(tenantId, [3]);
    const session = await store.getSession({ tenantId, sessionId: id });
    const origins = sessionOrigins(deps);
    const first = await origins.get({ tenantId, sessionId: id });
    expect(first).toEqual({
      id,
      tenantId,
      seed: session.seed,
      rules: session.rules,
      rulesVersion: session.rulesVersion,
      config: session.config,
    });
    expect(await origins.get({ tenantId, sessionId: id.toUpperCase() })).toBe(first);
    // Another tenant's key never finds it, before or after the owner's read.
    await expect(origins.get({ tenantId: other, sessionId: id })).rejects.toMatchObject({
      code: 'session_not_found',
    });
    await expect(origins.get({ tenantId: other, sessionId: id })).rejects.toMatchObject({
      code: 'session_not_found',
    });
  });
});
