import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createEventStore } from '../../src/events/index.js';
import { firstBrokenLink } from '../support/chain.js';
import { tinyCatalog } from '../support/tiny-game.js';
import { allEvents, createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';

let f: StoreFixture;
let tenantId: string;

beforeAll(async () => {
  f = await createStoreFixture();
  tenantId = await f.newTenant();
});
afterAll(() => f.db.drop());

const inc = (by: number, eventId?: string) => ({
  type: 'counter.incremented',
  version: 1,
  data: { by },
  eventId,
});

describe('creating sessions', () => {
  it('records a generated seed and pins the newest rules version', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    expect(s.seed).toMatch(/^[0-9a-f]{32}$/);
    expect(s.rulesVersion).toBe(1);
    expect(s.lastSequence).toBe(0);
    expect(s.status).toBe('active');
    const again = await f.store.getSession({ tenantId, sessionId: s.id });
    expect(again).toEqual(s);
  });

  it('keeps a seed the caller chose', async () => {
    const s = await f.store.createSession({
      tenantId,
      rules: 'tiny',
      seed: 'seed-42',
      config: { days: 3 },
    });
    expect(s.seed).toBe('seed-42');
    expect(s.config).toEqual({ days: 3 });
  });

  it('refuses rules it does not know', async () => {
    await expect(f.store.createSession({ tenantId, rules: 'chess' })).rejects.toMatchObject({
      code: 'unknown_rules',
    });
  });

  it('refuses a tenant that does not exist', async () => {
    await expect(
      f.store.createSession({ tenantId: uuidv7(), rules: 'tiny' }),
    ).rejects.toMatchObject({ code: 'tenant_not_found' });
  });
});

describe('appending', () => {
  it('assigns gapless sequences from 1 and reads them back in order', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const first = await f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(1)] });
    const second = await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: [inc(2), inc(3), inc(4)],
    });
    expect(first).toMatchObject({ ok: true, duplicate: false, firstSequence: 1, lastSequence: 1 });
    expect(second).toMatchObject({ ok: true, duplicate: false, firstSequence: 2, lastSequence: 4 });
    const page = await f.store.readEvents({ tenantId, sessionId: s.id });
    expect(page.events.map((e) => [e.sequence, e.data.by])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    expect(page.nextAfter).toBeNull();
    const session = await f.store.getSession({ tenantId, sessionId: s.id });
    expect(session.lastSequence).toBe(4);
    expect(firstBrokenLink(session, page.events)).toBeNull();
  });

  it('pages by sequence with nextAfter', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: Array.from({ length: 25 }, (_, i) => inc(i)),
    });
    const one = await f.store.readEvents({ tenantId, sessionId: s.id, limit: 10 });
    const two = await f.store.readEvents({
      tenantId,
      sessionId: s.id,
      after: one.nextAfter ?? -1,
      limit: 10,
    });
    const three = await f.store.readEvents({
      tenantId,
      sessionId: s.id,
      after: two.nextAfter ?? -1,
      limit: 10,
    });
    expect([one.nextAfter, two.nextAfter, three.nextAfter]).toEqual([10, 20, null]);
    expect(three.events.map((e) => e.sequence)).toEqual([21, 22, 23, 24, 25]);
  });

  it('returns the first sequences when a batch is retried, and stores nothing new', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const batch = [inc(1, uuidv7()), inc(2, uuidv7())];
    const first = await f.store.appendEvents({ tenantId, sessionId: s.id, events: batch });
    await f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(3)] });
    const retry = await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      expectedSequence: 0,
      events: batch,
    });
    expect(first).toMatchObject({ ok: true, duplicate: false, firstSequence: 1, lastSequence: 2 });
    expect(retry).toMatchObject({ ok: true, duplicate: true, firstSequence: 1, lastSequence: 2 });
    expect((await allEvents(f.store, s)).length).toBe(3);
  });

  it('refuses a batch that reuses only some stored event ids', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const a = uuidv7();
    await f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(1, a)] });
    const mixed = await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: [inc(1, a), inc(2)],
    });
    expect(mixed).toMatchObject({ ok: false, reason: 'event_id_conflict', currentSequence: 1 });
    expect((await allEvents(f.store, s)).length).toBe(1);
  });

  it('stores nothing on an expectedSequence conflict and reports the current sequence', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      expectedSequence: 0,
      events: [inc(1), inc(1)],
    });
    const conflict = await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      expectedSequence: 1,
      events: [inc(5)],
    });
    expect(conflict).toMatchObject({ ok: false, reason: 'sequence_conflict', currentSequence: 2 });
    if (!conflict.ok) expect(conflict.message).toContain('expectedSequence 2');
    const ok = await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      expectedSequence: 2,
      events: [inc(5)],
    });
    expect(ok).toMatchObject({ ok: true, firstSequence: 3 });
  });

  it('records a seed for events that consume randomness and keeps a client seed', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: [
        { type: 'dice.rolled', data: { sides: 6 } },
        { type: 'dice.rolled', data: { sides: 6, seed: 'mine' } },
        inc(1),
      ],
    });
    const [a, b, c] = await allEvents(f.store, s);
    expect(a?.data.seed).toMatch(/^[0-9a-f]{32}$/);
    expect(b?.data.seed).toBe('mine');
    expect(c?.data).toEqual({ by: 1 });
  });

  it('uses the newest version of a type unless told, and stores the version', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: [
        { type: 'counter.incremented', version: 1, data: { by: 1 } },
        { type: 'counter.incremented', data: { by: 1, note: 'n' } },
      ],
    });
    expect((await allEvents(f.store, s)).map((e) => e.version)).toEqual([1, 2]);
  });

  it('keeps server_time non-decreasing along the sequence', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    for (let i = 0; i < 5; i += 1)
      await f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(i)] });
    const times = (await allEvents(f.store, s)).map((e) => e.serverTime.getTime());
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  });
});

describe('ending sessions', () => {
  it('appends session.ended, then refuses new events but accepts a retry of the end', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    await f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(1)] });
    const endId = uuidv7();
    const ended = await f.store.endSession({
      tenantId,
      sessionId: s.id,
      reason: 'done',
      eventId: endId,
    });
    expect(ended).toMatchObject({ ok: true, firstSequence: 2 });
    const after = await f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(1)] });
    expect(after).toMatchObject({ ok: false, reason: 'session_ended', currentSequence: 2 });
    const retried = await f.store.endSession({
      tenantId,
      sessionId: s.id,
      reason: 'done',
      eventId: endId,
    });
    expect(retried).toMatchObject({ ok: true, duplicate: true, firstSequence: 2 });
    const session = await f.store.getSession({ tenantId, sessionId: s.id });
    expect(session.status).toBe('ended');
    expect(session.endedAt).toBeInstanceOf(Date);
    const events = await allEvents(f.store, s);
    expect(events.at(-1)).toMatchObject({ type: 'session.ended', data: { reason: 'done' } });
    expect(firstBrokenLink(session, events)).toBeNull();
  });

  it('gives up with session_busy when another writer holds the session too long, storing nothing', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const impatient = createEventStore({
      pool: f.db.pool,
      catalog: tinyCatalog,
      limits: { lockTimeoutMs: 100 },
    });
    const holder = await f.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM game.sessions WHERE id = $1 FOR UPDATE', [s.id]);
      await expect(
        impatient.appendEvents({ tenantId, sessionId: s.id, events: [inc(1)] }),
      ).rejects.toMatchObject({
        code: 'session_busy',
      });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect((await f.store.getSession({ tenantId, sessionId: s.id })).lastSequence).toBe(0);
    await expect(
      impatient.appendEvents({ tenantId, sessionId: s.id, events: [inc(1)] }),
    ).resolves.toMatchObject({ ok: true });
  });

  it('reports an unknown session as not found', async () => {
    const r = await f.store.appendEvents({ tenantId, sessionId: uuidv7(), events: [inc(1)] });
    expect(r).toMatchObject({ ok: false, reason: 'session_not_found', currentSequence: null });
    await expect(f.store.getSession({ tenantId, sessionId: uuidv7() })).rejects.toMatchObject({
      code: 'session_not_found',
    });
  });
});

describe('reading', () => {
  it("reads only the partitions the session's event times can be in", async () => {
    const { pageQuery } = await import('../../src/events/events.queries.js');
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    await f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(1), inc(2)] });
    const session = await f.store.getSession({ tenantId, sessionId: s.id });
    const plan = await f.db.pool.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) ${pageQuery}`.replace(/\$(\d)/g, (_, n: string) => `$${n}`),
      [s.id, 0, 2, session.firstEventAt, session.lastEventAt, 100],
    );
    const text = JSON.stringify(plan.rows[0]?.['QUERY PLAN']);
    const scanned = new Set(text.match(/events_(p\d{4}_\d{2}|default)/g));
    expect([...scanned]).toHaveLength(1);
  });
});

describe('appending in the caller transaction', () => {
  it('stores the batch only when the caller commits, and nothing when it rolls back', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const hooked: number[] = [];
    const store = createEventStore({
      pool: f.db.pool,
      catalog: tinyCatalog,
      afterAppend: [(batch) => Promise.resolve(void hooked.push(batch.lastSequence))],
    });
    const client = await f.db.pool.connect();
    try {
      await client.query('BEGIN');
      const kept = await store.appendEventsInTransaction(client, {
        tenantId,
        sessionId: s.id,
        events: [inc(1), inc(2)],
      });
      expect(kept).toMatchObject({ ok: true, firstSequence: 1, lastSequence: 2 });
      // Not visible outside before the commit, and the session row stays locked by the caller.
      expect((await f.store.getSession({ tenantId, sessionId: s.id })).lastSequence).toBe(0);
      await client.query('COMMIT');
      expect((await f.store.getSession({ tenantId, sessionId: s.id })).lastSequence).toBe(2);

      await client.query('BEGIN');
      const dropped = await store.appendEventsInTransaction(client, {
        tenantId,
        sessionId: s.id,
        expectedSequence: 2,
        events: [inc(3)],
      });
      expect(dropped).toMatchObject({ ok: true, firstSequence: 3 });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const events = await allEvents(f.store, s);
    expect(events.map((e) => e.data.by)).toEqual([1, 2]);
    const head = await f.store.getSession({ tenantId, sessionId: s.id });
    expect(head.lastSequence).toBe(2);
    expect(firstBrokenLink(head, events)).toBeNull();
    expect(hooked).toEqual([]);
  });
});

describe("a session's feed order", () => {
  async function transactionIds(sessionId: string): Promise<bigint[]> {
    const r = await f.db.pool.query<{ xid: string }>(
      'SELECT transaction_id::text AS xid FROM game.events WHERE session_id = $1 ORDER BY sequence',
      [sessionId],
    );
    return r.rows.map((row) => BigInt(row.xid));
  }
  const rising = (ids: bigint[]) => ids.every((id, i) => i === 0 || id > ids[i - 1]!);

  it('gives appends that queued behind a held session rising transaction ids in sequence order', async () => {
    for (let round = 0; round < 5; round += 1) {
      const s = await f.store.createSession({ tenantId, rules: 'tiny' });
      const holder = await f.db.pool.connect();
      try {
        await holder.query('BEGIN');
        await f.store.appendEventsInTransaction(holder, {
          tenantId,
          sessionId: s.id,
          events: [inc(1)],
        });
        const queued = Array.from({ length: 6 }, (_, i) =>
          f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(i + 2)] }),
        );
        await waitForLockWaiters(6);
        await holder.query('COMMIT');
        expect((await Promise.all(queued)).every((r) => r.ok)).toBe(true);
      } finally {
        holder.release();
      }
      const ids = await transactionIds(s.id);
      expect(ids).toHaveLength(7);
      expect(rising(ids), ids.join(' ')).toBe(true);
    }
  });

  it('refuses an append from a transaction that wrote first when a newer one appended meanwhile', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const early = await f.db.pool.connect();
    try {
      await early.query('BEGIN');
      await early.query('SELECT pg_current_xact_id()');
      await f.store.appendEvents({ tenantId, sessionId: s.id, events: [inc(1)] });
      await expect(
        f.store.appendEventsInTransaction(early, { tenantId, sessionId: s.id, events: [inc(2)] }),
      ).rejects.toMatchObject({ code: 'session_busy' });
      await early.query('ROLLBACK');
      // Without an earlier write the same append is accepted, after its predecessor in the feed.
      await early.query('BEGIN');
      const ok = await f.store.appendEventsInTransaction(early, {
        tenantId,
        sessionId: s.id,
        events: [inc(2)],
      });
      expect(ok).toMatchObject({ ok: true, firstSequence: 2 });
      await early.query('COMMIT');
    } finally {
      early.release();
    }
    expect(rising(await transactionIds(s.id))).toBe(true);
  });
});

/** Waits (bounded) until `count` backends of this database wait for a lock. */
async function waitForLockWaiters(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await f.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if ((r.rows[0]?.n ?? 0) >= count) return;
    if (Date.now() > deadline)
      throw new Error(`fewer than ${count} appends waited for the session`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
