import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintainPartitions } from '../../partitions/index.js';
import type { NewEvent, Session, StoredEvent } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

// A game server that retries a batch months late, after retention moved its month to the
// archive: the retry must still be answered with the first sequences, and a changed batch under
// the same ids must still be a conflict, never stored a second time.

const now = new Date();
const at = (months: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15, 12));

let db: TestDatabase;
let agate: Agate;
let tenantId: string;
let session: Session;
let archived: StoredEvent[];

const asSent = (e: StoredEvent): NewEvent => ({
  eventId: e.eventId,
  type: e.type,
  version: e.version,
  data: e.data,
});

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
  tenantId = (await createTenant(db.pool, { name: 'archived-retry', actor: 'test' })).id;
  session = await agate.store.createSession({ tenantId, rules: 'tiny' });
  for (const m of [0, 1, 2]) await appendAt(db.pool, session, at(m), tinyEvents(3));
  archived = (await agate.store.readEvents({ tenantId, sessionId: session.id, limit: 3 })).events;
  const report = await maintainPartitions(db.url, {
    backend: 'native',
    now: at(2),
    retentionMonths: 1,
  });
  expect(report.ran).toBe(true);
  const inArchive = await db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM archive.events WHERE session_id = $1',
    [session.id],
  );
  expect(inArchive.rows[0]?.n).toBe(3);
});
afterAll(() => db.drop());

const lastSequence = async () =>
  (await agate.store.getSession({ tenantId, sessionId: session.id })).lastSequence;

describe('a retry of a batch whose month is in the archive', () => {
  it('is answered with the sequences first assigned, and stores nothing', async () => {
    const r = await agate.store.appendEvents({
      tenantId,
      sessionId: session.id,
      events: archived.map(asSent),
    });
    expect(r).toMatchObject({ ok: true, duplicate: true, firstSequence: 1, lastSequence: 3 });
    expect(await lastSequence()).toBe(9);
  });

  it('is a conflict when the content under the same ids changed, and stores nothing', async () => {
    const changed = archived.map(asSent).map((e, i) => (i === 1 ? { ...e, data: { by: 99 } } : e));
    const r = await agate.store.appendEvents({ tenantId, sessionId: session.id, events: changed });
    expect(r).toMatchObject({ ok: false, reason: 'event_id_conflict', index: 1 });
    expect(await lastSequence()).toBe(9);
  });

  it('is a conflict when part of it was archived and part is new', async () => {
    const events = [
      asSent(archived[0]!),
      { type: 'counter.incremented', version: 1, data: { by: 1 } },
    ];
    const r = await agate.store.appendEvents({ tenantId, sessionId: session.id, events });
    expect(r).toMatchObject({ ok: false, reason: 'event_id_conflict' });
    expect(await lastSequence()).toBe(9);
  });
});
