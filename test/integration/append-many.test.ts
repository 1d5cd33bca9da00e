import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createEventStore, readFeed } from '../../src/events/index.js';
import type { FeedEvent, FeedPosition } from '../../src/events/index.js';
import { firstBrokenLink } from '../support/chain.js';
import { allEvents, createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';
import { tinyCatalog } from '../support/tiny-game.js';

let f: StoreFixture;
let tenantId: string;

beforeAll(async () => {
  f = await createStoreFixture({ max: 12 });
  tenantId = await f.newTenant();
});
afterAll(() => f.db.drop());

const inc = (by: number, eventId?: string) => ({
  type: 'counter.incremented',
  version: 1,
  data: { by },
  eventId,
});

async function sessions(n: number, tenant = tenantId): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    ids.push((await f.store.createSession({ tenantId: tenant, rules: 'tiny' })).id);
  }
  return ids;
}

async function expectGapless(id: string, count: number, tenant = tenantId): Promise<void> {
  const session = await f.store.getSession({ tenantId: tenant, sessionId: id });
  const events = await allEvents(f.store, session);
  expect(events.map((e) => e.sequence)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  expect(firstBrokenLink(session, events)).toBeNull();
}

describe('appending to many sessions', () => {
  it('answers a result per session in the input order', async () => {
    const ids = await sessions(3);
    const { results } = await f.store.appendMany({
      tenantId,
      batches: ids.map((sessionId, i) => ({ sessionId, events: [inc(i), inc(i + 1)] })),
    });
    expect(results.map((r) => r.sessionId)).toEqual(ids);
    for (const r of results) {
      expect(r).toMatchObject({ ok: true, duplicate: false, firstSequence: 1, lastSequence: 2 });
    }
    for (const [i, id] of ids.entries()) {
      const events = await allEvents(f.store, { tenantId, id });
      expect(events.map((e) => e.data)).toEqual([{ by: i }, { by: i + 1 }]);
      await expectGapless(id, 2);
    }
  });

  it('fails only the bad sessions and stores each good batch whole', async () => {
    const [good, ended, conflicted, invalid, idConflict, good2] = await sessions(6);
    const stored = uuidv7();
    await f.store.appendEvents({ tenantId, sessionId: idConflict!, events: [inc(1, stored)] });
    await f.store.endSession({ tenantId, sessionId: ended!, reason: 'done' });
    await f.store.appendEvents({ tenantId, sessionId: conflicted!, events: [inc(1)] });
    const missing = uuidv7();
    const { results } = await f.store.appendMany({
      tenantId,
      batches: [
        { sessionId: good!, events: [inc(1), inc(2)] },
        { sessionId: missing, events: [inc(1)] },
        { sessionId: ended!, events: [inc(1)] },
        { sessionId: conflicted!, events: [inc(1)], expectedSequence: 0 },
        { sessionId: invalid!, events: [inc(1), { type: 'counter.incremented', data: {} }] },
        { sessionId: idConflict!, events: [inc(5), inc(2, stored)] },
        { sessionId: 'not-a-session', events: [inc(1)] },
        { sessionId: good2!, events: [inc(3)] },
      ],
    });
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'ok',
      'session_not_found',
      'session_ended',
      'sequence_conflict',
      'invalid_event',
      'event_id_conflict',
      'session_not_found',
      'ok',
    ]);
    expect(results[3]).toMatchObject({ currentSequence: 1 });
    expect(results[5]).toMatchObject({ index: 0, currentSequence: 1 });
    await expectGapless(good!, 2);
    await expectGapless(good2!, 1);
    await expectGapless(invalid!, 0);
    await expectGapless(idConflict!, 1);
    await expectGapless(conflicted!, 1);
  });

  it('returns the first sequences when the same request is retried, and a changed retry is a conflict for its session only', async () => {
    const ids = await sessions(3);
    const batches = ids.map((sessionId, i) => ({
      sessionId,
      events: [inc(i, uuidv7()), inc(i, uuidv7())],
    }));
    const first = await f.store.appendMany({ tenantId, batches });
    const again = await f.store.appendMany({ tenantId, batches });
    expect(again.results).toEqual(first.results.map((r) => ({ ...r, duplicate: true })));
    const changed = batches.map((b, i) =>
      i === 1 ? { ...b, events: [b.events[0]!, { ...b.events[1]!, data: { by: 99 } }] } : b,
    );
    const { results } = await f.store.appendMany({ tenantId, batches: changed });
    expect(results.map((r) => (r.ok ? r.duplicate : r.reason))).toEqual([
      true,
      'event_id_conflict',
      true,
    ]);
    for (const id of ids) await expectGapless(id, 2);
  });

  it('refuses more sessions than the limit, or a session twice, and stores nothing', async () => {
    const ids = await sessions(2);
    const many = Array.from({ length: 65 }, (_, i) => ({
      sessionId: i === 0 ? ids[0]! : uuidv7(),
      events: [inc(1)],
    }));
    await expect(f.store.appendMany({ tenantId, batches: many })).rejects.toMatchObject({
      code: 'batch_too_large',
      details: { sessions: 65, limit: 64 },
    });
    const twice = [
      { sessionId: ids[1]!, events: [inc(1)] },
      { sessionId: ids[1]!.toUpperCase(), events: [inc(2)] },
    ];
    await expect(f.store.appendMany({ tenantId, batches: twice })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(f.store.appendMany({ tenantId, batches: [] })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    for (const id of ids) await expectGapless(id, 0);
  });
});

describe('locks', () => {
  it('answers session_busy for a session whose lock is held, bounded by the lock timeout, and stores the others', async () => {
    const store = createEventStore({
      pool: f.db.pool,
      catalog: tinyCatalog,
      limits: { lockTimeoutMs: 200 },
    });
    const [held, held2, free] = await sessions(3);
    const holder = await f.db.pool.connect();
    try {
      await holder.query('BEGIN');
      for (const id of [held!, held2!]) {
        await holder.query(
          "SELECT pg_advisory_xact_lock(hashtextextended('agate.append:' || $1::text, 0))",
          [id],
        );
      }
      const { results } = await store.appendMany({
        tenantId,
        batches: [held!, free!, held2!].map((sessionId) => ({ sessionId, events: [inc(1)] })),
      });
      expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
        'session_busy',
        'ok',
        'session_busy',
      ]);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await expectGapless(free!, 1);
    await expectGapless(held!, 0);
  });

  it('completes concurrent requests over overlapping sessions in different orders without deadlock', async () => {
    const ids = await sessions(6);
    const rounds = 15;
    const orders = [
      ids,
      [...ids].reverse(),
      [ids[2]!, ids[0]!, ids[5]!, ids[1]!, ids[4]!, ids[3]!],
    ];
    for (let round = 0; round < rounds; round += 1) {
      const answers = await Promise.all(
        orders.map((order) =>
          f.store.appendMany({
            tenantId,
            batches: order.map((sessionId) => ({ sessionId, events: [inc(round)] })),
          }),
        ),
      );
      for (const { results } of answers) expect(results.every((r) => r.ok)).toBe(true);
    }
    for (const id of ids) await expectGapless(id, rounds * orders.length);
  });
});

async function wholeFeed(tenant: string): Promise<FeedEvent[]> {
  const events: FeedEvent[] = [];
  let after: FeedPosition | undefined;
  for (;;) {
    const page = await readFeed({ pool: f.db.pool }, { tenantId: tenant, after, limit: 1000 });
    events.push(...page.events);
    const last = page.events.at(-1);
    if (last === undefined) return events;
    after = last.position;
  }
}

describe('the feed', () => {
  it('delivers every event of concurrent single and many appends in each session order', async () => {
    const tenant = await f.newTenant();
    const ids = await sessions(4, tenant);
    const writes: Promise<unknown>[] = [];
    for (let round = 0; round < 10; round += 1) {
      writes.push(
        f.store.appendMany({
          tenantId: tenant,
          batches: ids.map((sessionId) => ({ sessionId, events: [inc(round), inc(round)] })),
        }),
        f.store.appendEvents({ tenantId: tenant, sessionId: ids[round % 4]!, events: [inc(1)] }),
      );
    }
    await Promise.all(writes);
    const feed = await wholeFeed(tenant);
    expect(feed).toHaveLength(10 * 4 * 2 + 10);
    for (const id of ids) {
      const sequences = feed.filter((e) => e.sessionId === id).map((e) => e.sequence);
      expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
    }
  });
});
