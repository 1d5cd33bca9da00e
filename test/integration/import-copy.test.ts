import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/index.js';
import { isAgateError } from '../../src/errors/index.js';
import { defaultGames } from '../../src/game/index.js';
import { importSessions, writeSession } from '../../src/import/index.js';
import { copyRows } from '../../src/import/copy-rows.js';
import { insertSessionRow } from '../../src/import/insert-session-row.js';
import { copyEventRows } from '../../src/import/write-events.js';
import { createAgate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { countIn, prepare, recorded, stored } from '../support/import-sessions.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

// The import's events path: a COPY into the month partition as the login, guarded by the tenant
// policy's predicate, or an INSERT under row-level security where the partition takes no copy.

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const newTenant = async () => (await createTenant(db.pool, { name: 'import', actor: 'test' })).id;
const countOf = (sql: string, params: unknown[]) => countIn(db.pool, sql, params);

describe('the events of an imported session', () => {
  it('keeps rows of another tenant or another session out of the copy into the month partition', async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const [other] = await importSessions(db.pool, {
      tenantId: a,
      games: defaultGames,
      sessions: [recorded('import-guard-other', 5)],
    });
    const session = prepare(a, recorded('import-guard', 30));
    const kept = await withTenant(db.pool, { tenantId: a }, async (tx) => {
      const row = await insertSessionRow(tx, session);
      expect(row.partition).toMatch(/^game\.events_p\d{4}_\d{2}$/);
      const copy = (columns: Partial<typeof row>) =>
        copyEventRows(
          tx,
          row.partition ?? '',
          copyRows(session.events, session.hashes, { ...row, ...columns }),
        );
      return [
        await copy({ tenantId: b }),
        await copy({ sessionId: other?.sessionId ?? '' }),
        await copy({}),
      ];
    });
    expect(kept).toEqual([0, 0, 30]);
    expect(await countOf('game.events WHERE tenant_id = $1', [b])).toBe(0);
    expect(await countOf('game.events WHERE session_id = $1', [other?.sessionId])).toBe(5);
  });

  it('copies client times to the microsecond, as the instant the client sent', async () => {
    const tenantId = await newTenant();
    const sent = ['2026-11-23t12:00:00.123456z', '2026-11-23T13:00:00.000001+01:00', null];
    const base = recorded('import-copy-micros', 3);
    const events = base.events.map((e, i) => ({ ...e, clientTime: sent[i] ?? undefined }));
    const session = prepare(tenantId, { ...base, events });
    await withTenant(db.pool, { tenantId }, async (tx) => {
      const row = await insertSessionRow(tx, session);
      await copyEventRows(tx, row.partition ?? '', copyRows(session.events, session.hashes, row));
    });
    const read = await db.pool.query<{ t: string | null }>(
      `SELECT to_char(client_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t
         FROM game.events WHERE tenant_id = $1 ORDER BY sequence`,
      [tenantId],
    );
    expect(read.rows.map((r) => r.t)).toEqual([
      '2026-11-23T12:00:00.123456',
      '2026-11-23T12:00:00.000001',
      null,
    ]);
  });

  it('stores nothing of a session whose events fail half way through the copy, not even its row', async () => {
    const tenantId = await newTenant();
    const session = prepare(tenantId, recorded('import-copy-fails', 120));
    // Past validation, so that PostgreSQL itself refuses the 91st row (jsonb has no \u0000).
    const events = session.events.map((e, i) =>
      i === 90 ? { ...e, data: { text: '\u0000' } } : e,
    );
    await expect(writeSession(db.pool, { ...session, events })).rejects.toSatisfy((error) =>
      isAgateError(error, 'invalid_event'),
    );
    expect(await countOf('game.sessions WHERE tenant_id = $1', [tenantId])).toBe(0);
    expect(await countOf('game.snapshots WHERE tenant_id = $1', [tenantId])).toBe(0);
    expect(await countOf('game.events WHERE tenant_id = $1', [tenantId])).toBe(0);
  });

  it('inserts the same rows under row-level security where the month partition takes no copy', async () => {
    const tenantId = await newTenant();
    const session = recorded('import-fallback', 130, { ended: true });
    const [copied] = await importSessions(db.pool, {
      tenantId,
      games: defaultGames,
      sessions: [session],
    });
    const sessionId = copied?.sessionId ?? '';
    // A partition with row-level security of its own refuses COPY FROM: the import must not try.
    const other = await createTestDatabase();
    try {
      await other.pool.query(`DO $$ BEGIN
        EXECUTE format('ALTER TABLE game.events_p%s ENABLE ROW LEVEL SECURITY',
                       to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'));
      END $$`);
      await createTenant(other.pool, { id: tenantId, name: 'fallback', actor: 'test' });
      const [inserted] = await importSessions(other.pool, {
        tenantId,
        games: defaultGames,
        sessions: [{ ...session, id: sessionId }],
      });
      const [mine, theirs] = await Promise.all([stored(db, sessionId), stored(other, sessionId)]);
      expect(theirs.events).toHaveLength(131);
      expect(theirs.events).toEqual(mine.events);
      expect(theirs.snapshots).toEqual(mine.snapshots);
      expect(inserted?.headHash).toBe(copied?.headHash);
      expect(theirs.session?.first_event_at).toEqual(theirs.session?.last_event_at);
      const replay = await createAgate({ pool: other.pool, games: defaultGames }).replay({
        tenantId,
        sessionId,
        verify: true,
      });
      expect(replay).toMatchObject({ verified: true, sequence: 131 });
    } finally {
      await other.drop();
    }
  });
});
