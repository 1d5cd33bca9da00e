import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import type { AppendResult, EventStore, NewEvent, Session } from '../../src/events/index.js';
import { firstBrokenLink } from '../support/chain.js';
import { allEvents, createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';

let f: StoreFixture;
let tenantId: string;

beforeAll(async () => {
  f = await createStoreFixture({ max: 64 });
  tenantId = await f.newTenant();
});
afterAll(() => f.db.drop());

/** A small deterministic generator, so a failing interleaving of batch sizes can be rerun. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const batchOf = (size: number, writer: number): NewEvent[] =>
  Array.from({ length: size }, (_, i) => ({
    eventId: uuidv7(),
    type: 'counter.incremented',
    version: 1,
    data: { by: writer * 1000 + i },
  }));

type Acked = Map<string, number>;

function record(acked: Acked, batch: NewEvent[], result: AppendResult): void {
  if (!result.ok) throw new Error(`append refused: ${result.reason}`);
  batch.forEach((e, i) => {
    const sequence = result.firstSequence + i;
    const previous = acked.get(e.eventId ?? '');
    if (previous !== undefined && previous !== sequence) {
      throw new Error(`event ${e.eventId} acknowledged at ${previous} and ${sequence}`);
    }
    acked.set(e.eventId ?? '', sequence);
  });
}

async function expectIntact(store: EventStore, session: Session, acked: Acked): Promise<void> {
  const current = await store.getSession({ tenantId, sessionId: session.id });
  const events = await allEvents(store, session);
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  expect(current.lastSequence).toBe(events.length);
  expect(firstBrokenLink(current, events)).toBeNull();
  const stored = new Map(events.map((e) => [e.eventId, e.sequence]));
  expect(stored.size).toBe(events.length);
  for (const [eventId, sequence] of acked) expect(stored.get(eventId)).toBe(sequence);
}

describe('concurrent writers', () => {
  it('64 writers on one session get gapless sequences and an intact chain', async () => {
    const session = await f.store.createSession({ tenantId, rules: 'tiny' });
    const acked: Acked = new Map();
    const writer = async (w: number) => {
      const random = lcg(w + 1);
      for (let i = 0; i < 15; i += 1) {
        const batch = batchOf(1 + Math.floor(random() * 4), w);
        const result = await f.store.appendEvents({
          tenantId,
          sessionId: session.id,
          events: batch,
        });
        record(acked, batch, result);
        if (random() < 0.3) {
          const retry = await f.store.appendEvents({
            tenantId,
            sessionId: session.id,
            events: batch,
          });
          expect(retry).toMatchObject({ ok: true, duplicate: true });
          record(acked, batch, retry);
        }
      }
    };
    await Promise.all(Array.from({ length: 64 }, (_, w) => writer(w)));
    expect(acked.size).toBeGreaterThan(64 * 15);
    await expectIntact(f.store, session, acked);
  });

  it('32 writers across 1,000 sessions leave every session gapless and chained', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 1000 }, () => f.store.createSession({ tenantId, rules: 'tiny' })),
    );
    const acked: Acked = new Map();
    const writer = async (w: number) => {
      const random = lcg(1000 + w);
      for (let i = 0; i < 100; i += 1) {
        const session = sessions[Math.floor(random() * sessions.length)];
        if (session === undefined) throw new Error('no session');
        const batch = batchOf(1 + Math.floor(random() * 10), w);
        record(
          acked,
          batch,
          await f.store.appendEvents({ tenantId, sessionId: session.id, events: batch }),
        );
      }
    };
    await Promise.all(Array.from({ length: 32 }, (_, w) => writer(w)));
    const counts = await f.db.pool.query<{ events: number }>(
      'SELECT count(*)::int AS events FROM game.events WHERE session_id = ANY($1)',
      [sessions.map((s) => s.id)],
    );
    expect(counts.rows[0]?.events).toBe(acked.size);
    for (const session of sessions) {
      const events = await allEvents(f.store, session);
      const current = await f.store.getSession({ tenantId, sessionId: session.id });
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
      expect(firstBrokenLink(current, events)).toBeNull();
      for (const e of events) expect(acked.get(e.eventId)).toBe(e.sequence);
    }
  });

  it('retries racing their original store the batch once and all get the same sequences', async () => {
    for (let round = 0; round < 40; round += 1) {
      const session = await f.store.createSession({ tenantId, rules: 'tiny' });
      const before = 1 + (round % 3);
      await f.store.appendEvents({ tenantId, sessionId: session.id, events: batchOf(before, 0) });
      const batch = batchOf(3, round);
      // All three expect the sequence before the batch: only the first to take the lock matches;
      // the others must still succeed, as duplicates, because the duplicate check comes first.
      const append = () =>
        f.store.appendEvents({
          tenantId,
          sessionId: session.id,
          events: batch,
          expectedSequence: before,
        });
      const [a, b, c] = await Promise.all([append(), append(), append()]);
      const results = [a, b, c].filter((r): r is Extract<AppendResult, { ok: true }> => r.ok);
      expect(results).toHaveLength(3);
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(results.map((r) => r.firstSequence)).toEqual([before + 1, before + 1, before + 1]);
      const events = await allEvents(f.store, session);
      expect(events.filter((e) => batch.some((x) => x.eventId === e.eventId))).toHaveLength(3);
    }
  });
});
