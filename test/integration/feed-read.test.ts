import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { addMonths, formatMonth, maintainPartitions, monthOf } from '../../partitions/index.js';
import {
  compareFeedPositions,
  feedStart,
  formatFeedPosition,
  parseFeedPosition,
  readFeed,
} from '../../src/events/index.js';
import type { FeedEvent, FeedPosition, NewEvent, Session } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { insertIn, openWriter } from '../support/feed-writers.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
});
afterAll(() => db.drop());

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const tenant = async (name: string) =>
  (await createTenant(db.pool, { name: `${name}-${uuidv7()}`, actor: 'test' })).id;

async function session(tenantId: string, events: number): Promise<Session> {
  const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
  if (events > 0) {
    const batch = Array.from({ length: events }, (_, i) => inc(i));
    expect((await agate.store.appendEvents({ tenantId, sessionId: s.id, events: batch })).ok).toBe(
      true,
    );
  }
  return agate.store.getSession({ tenantId, sessionId: s.id });
}

/** Every event of the tenant's feed, page by page. */
async function readAll(
  tenantId: string,
  options: { types?: string[]; sessionId?: string; limit?: number; after?: FeedPosition } = {},
): Promise<FeedEvent[]> {
  const all: FeedEvent[] = [];
  let after = options.after ?? feedStart;
  for (;;) {
    const page = await readFeed(
      { pool: db.pool },
      { tenantId, ...options, after, limit: options.limit ?? 7 },
    );
    all.push(...page.events);
    const last = page.events.at(-1);
    if (last === undefined) return all;
    after = last.position;
  }
}

const keys = (events: readonly FeedEvent[]) => events.map((e) => `${e.sessionId}#${e.sequence}`);

describe('a tenant’s feed', () => {
  it('delivers every event of the tenant once, in feed order, each session in sequence order', async () => {
    const tenantId = await tenant('order');
    const sessions = [await session(tenantId, 5), await session(tenantId, 3)];
    await agate.store.appendEvents({ tenantId, sessionId: sessions[0]!.id, events: [inc(9)] });
    const events = await readAll(tenantId, { limit: 2 });
    expect(events).toHaveLength(9);
    for (let i = 1; i < events.length; i += 1)
      expect(compareFeedPositions(events[i - 1]!.position, events[i]!.position)).toBeLessThan(0);
    for (const s of sessions) {
      const own = events.filter((e) => e.sessionId === s.id);
      expect(own.map((e) => e.sequence)).toEqual(own.map((_, i) => i + 1));
      expect(own.map((e) => e.previousSequence)).toEqual(own.map((_, i) => i));
    }
    const stored = await agate.store.readEvents({ tenantId, sessionId: sessions[0]!.id });
    const fed = events.filter((e) => e.sessionId === sessions[0]!.id);
    expect(fed.map((e) => [e.eventId, e.type, e.version, e.data, e.hash, e.tenantId])).toEqual(
      stored.events.map((e) => [e.eventId, e.type, e.version, e.data, e.hash, tenantId]),
    );
  });

  it('shows another tenant none of its events', async () => {
    const mine = await tenant('mine');
    const theirs = await tenant('theirs');
    await session(mine, 4);
    expect(await readAll(theirs)).toEqual([]);
    expect(await readAll(mine)).toHaveLength(4);
  });

  it('holds back events committed after an open transaction began, then delivers the late one first', async () => {
    const tenantId = await tenant('late');
    const early = await session(tenantId, 0);
    const writer = await openWriter(db.pool);
    try {
      const later = await session(tenantId, 3);
      // A reader of "position > checkpoint" would deliver `later` now and skip what `writer` adds.
      const held = await readFeed({ pool: db.pool }, { tenantId });
      expect(held).toEqual({ events: [], held: true });
      await insertIn(writer, early, 2);
      await writer.query('COMMIT');
      const events = await readAll(tenantId);
      expect(keys(events)).toEqual([
        `${early.id}#1`,
        `${early.id}#2`,
        ...[1, 2, 3].map((n) => `${later.id}#${n}`),
      ]);
    } finally {
      writer.release();
    }
  });

  it('never delivers the events of a transaction that rolled back, and skips none after it', async () => {
    const tenantId = await tenant('rollback');
    const lost = await session(tenantId, 0);
    const writer = await openWriter(db.pool);
    try {
      await insertIn(writer, lost, 3);
      const kept = await session(tenantId, 2);
      await writer.query('ROLLBACK');
      expect(keys(await readAll(tenantId))).toEqual([`${kept.id}#1`, `${kept.id}#2`]);
    } finally {
      writer.release();
    }
  });

  it('resumes after any delivered position with exactly the rest', async () => {
    const tenantId = await tenant('resume');
    await session(tenantId, 6);
    await session(tenantId, 4);
    const all = await readAll(tenantId);
    for (let i = 0; i < all.length; i += 1) {
      const after = parseFeedPosition(formatFeedPosition(all[i]!.position));
      expect(keys(await readAll(tenantId, { after }))).toEqual(keys(all.slice(i + 1)));
    }
  });

  it('filters by type and says which event of the same filter came before', async () => {
    const tenantId = await tenant('types');
    const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
    const events: NewEvent[] = [inc(1), inc(2), inc(3), inc(4), inc(5)];
    await agate.store.appendEvents({ tenantId, sessionId: s.id, events });
    await agate.store.endSession({ tenantId, sessionId: s.id });
    const ended = await readAll(tenantId, { types: ['session.ended'] });
    expect(ended.map((e) => [e.sequence, e.previousSequence])).toEqual([[6, 0]]);
    const both = await readAll(tenantId, { types: ['session.ended', 'counter.incremented'] });
    expect(both.map((e) => e.previousSequence)).toEqual([0, 1, 2, 3, 4, 5]);
    const none = await readAll(tenantId, { types: ['no.such.type'] });
    expect(none).toEqual([]);
  });

  it('filters by session, and splits sessions into slots that together hold every event once', async () => {
    const tenantId = await tenant('slots');
    const sessions = await Promise.all([1, 2, 3, 4, 5, 6].map(() => session(tenantId, 3)));
    const one = await readAll(tenantId, { sessionId: sessions[2]!.id });
    expect(keys(one)).toEqual([1, 2, 3].map((n) => `${sessions[2]!.id}#${n}`));
    const all = keys(await readAll(tenantId));
    const bySlot = await Promise.all(
      [0, 1, 2].map(async (slot) => {
        const page = await readFeed(
          { pool: db.pool },
          { tenantId, limit: 1000, slots: { count: 3, owned: [slot] } },
        );
        for (const e of page.events)
          expect(Number.parseInt(e.sessionId.slice(-2), 16) % 3).toBe(slot);
        return keys(page.events);
      }),
    );
    expect(bySlot.flat().sort()).toEqual([...all].sort());
  });

  it('refuses a malformed position, limit, type list, session or slot set before reading', async () => {
    const tenantId = await tenant('bad');
    for (const text of [
      '',
      '1',
      '1:2:3',
      '-1:00000000-0000-0000-0000-000000000000:0',
      '99999999999999999999999:00000000-0000-0000-0000-000000000000:0',
    ])
      expect(() => parseFeedPosition(text)).toThrow(/feed position/);
    const bad = [
      { limit: 0 },
      { limit: 1001 },
      { types: [] },
      { types: [''] },
      { sessionId: 'not-a-uuid' },
      { slots: { count: 2, owned: [2] } },
      { slots: { count: 0, owned: [0] } },
    ];
    for (const input of bad)
      await expect(readFeed({ pool: db.pool }, { tenantId, ...input })).rejects.toMatchObject({
        code: 'invalid_request',
      });
  });
});

describe('a feed whose months retention moved to the archive', () => {
  const now = new Date();
  const at = (months: number) =>
    new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15, 12));
  const month = (months: number) => formatMonth(addMonths(monthOf(now), months));

  it('still delivers them, at the same positions and in the same order', async () => {
    const tenantId = await tenant('archive');
    const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
    for (const m of [0, 1, 2, 3]) await appendAt(db.pool, s, at(m), tinyEvents(4));
    const before = await readAll(tenantId);
    expect(before).toHaveLength(16);
    const report = await maintainPartitions(db.url, {
      backend: 'native',
      now: at(3),
      retentionMonths: 1,
    });
    const detached = report.ran ? report.tables[0]?.detached : [];
    expect(detached).toContain(`events_p${month(0).replace('-', '_')}`);
    const archived = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM archive.events WHERE session_id = $1',
      [s.id],
    );
    expect(archived.rows[0]?.n).toBeGreaterThan(0);
    const after = await readAll(tenantId);
    expect(after.map((e) => formatFeedPosition(e.position))).toEqual(
      before.map((e) => formatFeedPosition(e.position)),
    );
    expect(after.map((e) => e.hash)).toEqual(before.map((e) => e.hash));
  });
});
