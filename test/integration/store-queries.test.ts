import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/index.js';
import { listSessionSnapshots, selectSessionStart } from '../../src/events/index.js';
import type { NewEvent, Session } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;
let otherTenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames });
  tenantId = (await createTenant(db.pool, { name: 'store-queries', actor: 'test' })).id;
  otherTenantId = (await createTenant(db.pool, { name: 'store-queries-other', actor: 'test' })).id;
});
afterAll(async () => {
  await agate.close();
  await db.drop();
});

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });

/** 120 events: interval snapshots at 50 and 100. */
async function session(): Promise<Session> {
  const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
  const events = Array.from({ length: 120 }, (_, i) => inc(i + 1));
  expect((await agate.store.appendEvents({ tenantId, sessionId: s.id, events })).ok).toBe(true);
  await agate.idle();
  return agate.store.getSession({ tenantId, sessionId: s.id });
}

describe('listSessionSnapshots', () => {
  it('lists the session’s snapshots newest first, without their states', async () => {
    const s = await session();
    const listed = await listSessionSnapshots(agate, { tenantId, sessionId: s.id });
    expect(listed.map((snap) => [snap.sequence, snap.reason])).toEqual([
      [100, 'interval'],
      [50, 'interval'],
    ]);
    expect(
      listed.every((snap) => !('state' in snap) && /^[0-9a-f]{64}$/.test(snap.stateHash)),
    ).toBe(true);
  });

  it('answers session_not_found for another tenant’s session, as for one that does not exist', async () => {
    const s = await session();
    const foreign = listSessionSnapshots(agate, { tenantId: otherTenantId, sessionId: s.id });
    await expect(foreign).rejects.toMatchObject({ code: 'session_not_found' });
    const missing = listSessionSnapshots(agate, {
      tenantId,
      sessionId: '01900000-0000-7000-8000-000000000000',
    });
    await expect(missing).rejects.toMatchObject({ code: 'session_not_found' });
  });
});

describe('selectSessionStart', () => {
  it('reads the newest snapshot at or below the target and at most a page of the events after it', async () => {
    const s = await session();
    const start = await withTenant(db.pool, { tenantId }, (tx) =>
      selectSessionStart(tx, s.id, 60, 5),
    );
    expect(start?.session.id).toBe(s.id);
    expect(start?.newest?.sequence).toBe(50);
    expect(start?.newest?.chainHash?.length).toBe(32);
    expect(start?.newest?.tail.map((e) => e.sequence)).toEqual([51, 52, 53, 54, 55]);
    expect(start?.newest?.tail[0]?.data).toEqual({ by: 51 });
  });

  it('stops the first page at the target when it is nearer than a page', async () => {
    const s = await session();
    const start = await withTenant(db.pool, { tenantId }, (tx) =>
      selectSessionStart(tx, s.id, 103, 2_000),
    );
    expect(start?.newest?.sequence).toBe(100);
    expect(start?.newest?.tail.map((e) => e.sequence)).toEqual([101, 102, 103]);
  });

  it('reads nothing of another tenant’s session', async () => {
    const s = await session();
    const start = await withTenant(db.pool, { tenantId: otherTenantId }, (tx) =>
      selectSessionStart(tx, s.id, undefined, 5),
    );
    expect(start).toBeUndefined();
  });
});
