import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import type { NewEvent } from '../../src/events/index.js';
import { firstBrokenLink } from '../support/chain.js';
import { allEvents, createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';

let f: StoreFixture;
let tenantId: string;

beforeAll(async () => {
  f = await createStoreFixture();
  tenantId = await f.newTenant();
});
afterAll(() => f.db.drop());

const at = '2026-11-23T12:00:00.000Z';

/** Three client-id events, each with a clientTime, as a game server that retries sends them. */
function original(): NewEvent[] {
  return [
    { eventId: uuidv7(), type: 'counter.incremented', version: 1, data: { by: 1 }, clientTime: at },
    { eventId: uuidv7(), type: 'note.written', version: 1, data: { text: 'a' }, clientTime: at },
    { eventId: uuidv7(), type: 'counter.incremented', version: 1, data: { by: 3 }, clientTime: at },
  ];
}

async function storedSession(batch: NewEvent[], before = 0) {
  const s = await f.store.createSession({ tenantId, rules: 'tiny' });
  const ref = { tenantId, sessionId: s.id };
  if (before > 0) {
    const filler = Array.from({ length: before }, (_, i) => ({
      type: 'counter.incremented',
      version: 1,
      data: { by: i },
    }));
    expect((await f.store.appendEvents({ ...ref, events: filler })).ok).toBe(true);
  }
  const first = await f.store.appendEvents({ ...ref, events: batch });
  expect(first).toMatchObject({ ok: true, duplicate: false });
  return { ref, first, head: (await f.store.getSession(ref)).headHash };
}

/** The batch with event `index` replaced by `change(event)` (same event id). */
function changed(batch: NewEvent[], index: number, change: (e: NewEvent) => NewEvent): NewEvent[] {
  return batch.map((e, i) => (i === index ? { ...change(e), eventId: e.eventId } : e));
}

const changes: [string, (e: NewEvent) => NewEvent][] = [
  ['data', (e) => ({ ...e, data: { text: 'b' } })],
  ['type', (e) => ({ ...e, type: 'counter.incremented', data: { by: 2 } })],
  ['clientTime', (e) => ({ ...e, clientTime: '2026-11-23T12:00:00.001Z' })],
  ['a clientTime left out', (e) => ({ ...e, clientTime: undefined })],
];

describe('a retry of a batch whose ids are stored', () => {
  it.each(changes)(
    'refuses a retry with changed %s as event_id_conflict naming the first differing event, storing nothing',
    async (_name, change) => {
      const batch = original();
      const { ref, head } = await storedSession(batch, 2);
      const retry = await f.store.appendEvents({ ...ref, events: changed(batch, 1, change) });

      expect(retry).toMatchObject({
        ok: false,
        reason: 'event_id_conflict',
        index: 1,
        eventId: batch[1]?.eventId,
        currentSequence: 5,
      });
      if (!retry.ok) expect(retry.message).toContain(`events[1] (eventId ${batch[1]?.eventId})`);
      const after = await f.store.getSession(ref);
      expect(after).toMatchObject({ lastSequence: 5, headHash: head });
      expect((await allEvents(f.store, after)).map((e) => e.data)).toContainEqual({ text: 'a' });
    },
  );

  it('refuses a retry with a changed version of the same type', async () => {
    const batch = original();
    const { ref } = await storedSession(batch);
    const retry = await f.store.appendEvents({
      ...ref,
      events: changed(batch, 2, (e) => ({ ...e, version: 2, data: { by: 3, note: '' } })),
    });
    expect(retry).toMatchObject({ ok: false, reason: 'event_id_conflict', index: 2 });
    expect((await f.store.getSession(ref)).lastSequence).toBe(3);
  });

  it('compares the first event of a session against the chain root', async () => {
    const batch = original();
    const { ref } = await storedSession(batch);
    const retry = await f.store.appendEvents({
      ...ref,
      events: changed(batch, 0, (e) => ({ ...e, data: { by: 2 } })),
    });
    expect(retry).toMatchObject({ ok: false, reason: 'event_id_conflict', index: 0 });
  });

  it('names the first event out of place when the order, the count or the set differs, and still answers the faithful retry', async () => {
    const batch = original();
    const [a, b, c] = batch as [NewEvent, NewEvent, NewEvent];
    const { ref, first } = await storedSession(batch, 1);
    const extra: NewEvent = { eventId: uuidv7(), type: 'note.written', data: { text: 'x' } };
    const cases: [NewEvent[], number][] = [
      [[b, a, c], 0],
      [[a, c], 1],
      [[a, b, c, extra], 3],
      [[extra, a, b, c], 0],
      [[a, b, { ...extra, eventId: undefined }], 2],
    ];
    for (const [events, index] of cases) {
      const result = await f.store.appendEvents({ ...ref, events });
      expect(result).toMatchObject({ ok: false, reason: 'event_id_conflict', index });
    }
    expect((await f.store.getSession(ref)).lastSequence).toBe(4);
    await f.store.endSession(ref);
    // The same instant written another way is the same clientTime; the session has ended since.
    const same = changed(batch, 0, (e) => ({ ...e, clientTime: '2026-11-23T13:00:00+01:00' }));
    const retry = await f.store.appendEvents({ ...ref, expectedSequence: 0, events: same });
    expect(retry).toEqual({ ...first, duplicate: true });
  });

  it('compares the first event of a session made before root_hash column by column', async () => {
    const batch = original();
    const { ref } = await storedSession(batch);
    await f.db.pool.query('UPDATE game.sessions SET root_hash = NULL WHERE id = $1', [
      ref.sessionId,
    ]);
    const retry = await f.store.appendEvents({
      ...ref,
      events: changed(batch, 0, (e) => ({ ...e, data: { by: 2 } })),
    });
    const faithful = await f.store.appendEvents({ ...ref, events: batch });
    expect(retry).toMatchObject({ ok: false, reason: 'event_id_conflict', index: 0 });
    expect(faithful).toMatchObject({ ok: true, duplicate: true, firstSequence: 1 });
    const s = await f.store.getSession(ref);
    expect(firstBrokenLink(s, await allEvents(f.store, s))).toBeNull();
  });
});
