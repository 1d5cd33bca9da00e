import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { addMonths, formatMonth, maintainPartitions, monthOf } from '../../partitions/index.js';
import type { Backend } from '../../partitions/index.js';
import { foldAll } from '../../replay/index.js';
import type { TraceStep } from '../../replay/index.js';
import { withTenant } from '../../src/db/index.js';
import type { Session } from '../../src/events/index.js';
import { createPlayer, exportPlayer } from '../../src/players/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { writeSnapshot } from '../../src/snapshots/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import type { EventInput } from '../support/append-at.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames, tinyRules } from '../support/tiny-rules.js';

// The clock: the session is played over six months from the current one; retention then runs
// as if it were five months later, keeping two months back, so months 0..2 go to the archive.
const now = new Date();
const at = (months: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15, 12));
const month = (months: number) => formatMonth(addMonths(monthOf(now), months));
const partition = (months: number) => `events_p${month(months).replace('-', '_')}`;
const perMonth = 25;
const playedMonths = [0, 1, 2, 3, 4, 5];
const total = perMonth * playedMonths.length;

type Played = { session: Session; inputs: EventInput[]; trace: TraceStep[] };

async function withPartman(db: TestDatabase): Promise<void> {
  await db.pool.query('CREATE SCHEMA partman');
  await db.pool.query('CREATE EXTENSION pg_partman SCHEMA partman');
}

/** A session with `perMonth` events in each of `months`, and the trace of its live fold. */
async function playOver(
  agate: Agate,
  db: TestDatabase,
  tenantId: string,
  playerId: string,
  months: readonly number[],
): Promise<Played> {
  const seed = `archive-${months.join('-')}`;
  const session = await agate.store.createSession({ tenantId, rules: 'tiny', seed, playerId });
  const inputs: EventInput[] = [];
  for (const m of months) {
    const batch = tinyEvents(perMonth).map((e, i) => ({ ...e, data: { by: m * 100 + i } }));
    await appendAt(db.pool, session, at(m), batch);
    inputs.push(...batch);
  }
  for (let sequence = 50; sequence <= inputs.length; sequence += 50)
    await writeSnapshot(
      { pool: db.pool, games: tinyGames },
      { tenantId, sessionId: session.id, sequence, reason: 'interval' },
    );
  const live = await agate.replay({
    tenantId,
    sessionId: session.id,
    from: 'genesis',
    trace: true,
  });
  return {
    session: await agate.store.getSession({ tenantId, sessionId: session.id }),
    inputs,
    trace: live.trace ?? [],
  };
}

async function archivedParts(db: TestDatabase): Promise<string[]> {
  const r = await db.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'archive.events'::regclass ORDER BY 1`,
  );
  return r.rows.map((row) => row.name);
}

describe.each<Backend>(['native', 'pg_partman'])(
  'a session whose months retention archived, with the %s backend',
  (backend) => {
    let db: TestDatabase;
    let agate: Agate;
    let tenantId: string;
    let playerId: string;
    let spanning: Played;
    let archivedOnly: Played;
    const initialHash = () =>
      foldAll(tinyRules, { ...spanning.session, sessionId: spanning.session.id }, []).stateHash;

    beforeAll(async () => {
      db = await createTestDatabase();
      if (backend === 'pg_partman') await withPartman(db);
      agate = createAgate({ pool: db.pool, games: tinyGames });
      tenantId = (await createTenant(db.pool, { name: 'archive', actor: 'test' })).id;
      playerId = (await createPlayer(db.pool, { tenantId })).id;
      spanning = await playOver(agate, db, tenantId, playerId, playedMonths);
      archivedOnly = await playOver(agate, db, tenantId, playerId, [1]);
      await db.pool.query(
        `INSERT INTO admin.audit_log (id, tenant_id, occurred_at, actor, action, subject)
         VALUES ($1, $2, $3, 'test', 'player.noted', $4)`,
        [uuidv7(), tenantId, at(1), playerId],
      );
      const report = await maintainPartitions(db.url, {
        backend,
        now: at(5),
        retentionMonths: 2,
      });
      expect(report.ran && report.tables[0]?.detached).toEqual([-1, 0, 1, 2].map(partition));
    });
    afterAll(() => db.drop());

    it('attaches every archived month to archive.events and keeps none in game.events', async () => {
      expect(await archivedParts(db)).toEqual([-1, 0, 1, 2].map(partition));
      const live = await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM ONLY game.events_default',
      );
      expect(live.rows[0]?.n).toBe(0);
      const where = await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM archive.events WHERE session_id = $1',
        [spanning.session.id],
      );
      expect(where.rows[0]?.n).toBe(3 * perMonth);
    });

    it('replays to every sequence, from genesis and from snapshots, as the live fold did', async () => {
      const { session, trace } = spanning;
      expect(trace).toHaveLength(total);
      const pure = foldAll(
        tinyRules,
        { ...session, sessionId: session.id },
        spanning.inputs.map((e, i) => ({ ...e, sequence: i + 1, eventId: `e${i}` })),
      );
      expect(pure.stateHash).toBe(trace.at(-1)?.stateHash);
      for (let to = 0; to <= total; to += 1) {
        const expected = to === 0 ? initialHash() : trace[to - 1]?.stateHash;
        for (const from of ['genesis', 'snapshot'] as const) {
          const r = await agate.replay({ tenantId, sessionId: session.id, to, from });
          expect({ to, from, sequence: r.sequence, hash: r.stateHash }).toEqual({
            to,
            from,
            sequence: to,
            hash: expected,
          });
          if (from === 'snapshot')
            expect(r.snapshotUsed?.sequence ?? 0).toBe(Math.floor(to / 50) * 50);
        }
      }
    });

    it('replays a session held wholly in the archive, and verifies both clean', async () => {
      for (const played of [spanning, archivedOnly]) {
        const r = await agate.replay({ tenantId, sessionId: played.session.id, verify: true });
        expect(r).toMatchObject({
          verified: true,
          divergences: [],
          sequence: played.inputs.length,
        });
        expect(r.stateHash).toBe(played.trace.at(-1)?.stateHash);
      }
      const analyst = await agate.replay({
        tenantId,
        sessionId: archivedOnly.session.id,
        role: 'agate_analyst',
      });
      expect(analyst.sequence).toBe(perMonth);
    });

    it('reads and exports every event and audit entry, in order, from live and archived months', async () => {
      const streamed: number[] = [];
      for await (const e of agate.store.streamEvents({
        tenantId,
        sessionId: spanning.session.id,
        pageSize: 40,
      }))
        streamed.push(e.sequence);
      expect(streamed).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      const page = await agate.store.readEvents({
        tenantId,
        sessionId: spanning.session.id,
        after: 70,
        limit: 10,
      });
      expect(page.events.map((e) => e.sequence)).toEqual([71, 72, 73, 74, 75, 76, 77, 78, 79, 80]);
      expect(page.events[4]?.serverTime).toEqual(at(2));
      const exported = await exportPlayer(db.pool, { tenantId, playerId });
      expect(exported.auditEntries.map((e) => [e.action, e.occurredAt])).toEqual([
        ['player.noted', at(1)],
      ]);
      expect(exported.events.map((e) => [e.sessionId, e.sequence])).toEqual([
        ...spanning.inputs.map((_, i) => [spanning.session.id, i + 1]),
        ...archivedOnly.inputs.map((_, i) => [archivedOnly.session.id, i + 1]),
      ]);
    });

    it('keeps archived months to their tenant: another tenant sees none, and no role reads a month directly', async () => {
      const other = (await createTenant(db.pool, { name: 'other', actor: 'test' })).id;
      await expect(
        agate.replay({ tenantId: other, sessionId: archivedOnly.session.id }),
      ).rejects.toMatchObject({ code: 'session_not_found' });
      for (const role of ['agate_app', 'agate_analyst'] as const) {
        const seen = await withTenant(db.pool, { tenantId: other, role }, (tx) =>
          tx.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.events'),
        );
        expect(seen.rows[0]?.n).toBe(0);
        const mine = await withTenant(db.pool, { tenantId, role }, (tx) =>
          tx.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.events'),
        );
        expect(mine.rows[0]?.n).toBe(4 * perMonth);
        for (const name of await archivedParts(db))
          await expect(
            withTenant(db.pool, { tenantId, role }, (tx) =>
              tx.query(`SELECT 1 FROM archive.${name}`),
            ),
          ).rejects.toMatchObject({ code: 'forbidden' });
      }
    });

    it('keeps archived months append-only through the parent and on every month', async () => {
      const refused = async (sql: string) =>
        db.pool.query(sql).then(
          () => undefined,
          (error: { code?: string }) => error.code,
        );
      expect(await refused('DELETE FROM archive.events')).toBe('AG001');
      expect(await refused('TRUNCATE archive.events')).toBe('AG001');
      for (const name of [0, 1, 2].map(partition)) {
        expect(await refused(`UPDATE archive.${name} SET event_type = 'x'`)).toBe('AG001');
        expect(await refused(`DELETE FROM archive.${name}`)).toBe('AG001');
        expect(await refused(`TRUNCATE archive.${name}`)).toBe('AG001');
      }
    });
  },
);

describe.each<Backend>(['native', 'pg_partman'])(
  'a session whose months are gone, with the %s backend',
  (backend) => {
    // Each test drops months of its own database.
    const dbs: TestDatabase[] = [];
    let db: TestDatabase;
    let agate: Agate;
    let tenantId: string;
    let playerId: string;

    beforeEach(async () => {
      db = await createTestDatabase();
      dbs.push(db);
      if (backend === 'pg_partman') await withPartman(db);
      agate = createAgate({ pool: db.pool, games: tinyGames });
      tenantId = (await createTenant(db.pool, { name: 'gone', actor: 'test' })).id;
      playerId = (await createPlayer(db.pool, { tenantId })).id;
    });
    afterAll(async () => {
      for (const each of dbs) await each.drop();
    });

    it('names the months that are gone: dropped from the archive by an operator, or by retention with --drop', async () => {
      const spanning = await playOver(agate, db, tenantId, playerId, playedMonths);
      const archivedOnly = await playOver(agate, db, tenantId, playerId, [1]);
      const recent = await playOver(agate, db, tenantId, playerId, [5]);
      await maintainPartitions(db.url, { backend, now: at(5), retentionMonths: 2 });

      await db.pool.query(`DROP TABLE archive.${partition(1)}`);
      const first = { code: 'integrity_violation' as const };
      await expect(
        agate.replay({ tenantId, sessionId: spanning.session.id, from: 'genesis' }),
      ).rejects.toMatchObject({
        ...first,
        message: expect.stringContaining(
          `Events 26 to 50 of session ${spanning.session.id} are missing from the store: no partition holds its months ${month(1)} any more`,
        ) as unknown,
        details: { kind: 'missing', sequence: 26, lastMissing: 50, goneMonths: [month(1)] },
      });
      await expect(
        agate.replay({ tenantId, sessionId: archivedOnly.session.id }),
      ).rejects.toMatchObject({
        ...first,
        details: { kind: 'missing', sequence: 1, lastMissing: perMonth, goneMonths: [month(1)] },
      });
      await expect(exportPlayer(db.pool, { tenantId, playerId })).rejects.toMatchObject({
        ...first,
        details: { sequence: 26, goneMonths: [month(1)] },
      });
      const verified = await agate.replay({
        tenantId,
        sessionId: spanning.session.id,
        verify: true,
      });
      expect(verified).toMatchObject({ verified: false, sequence: 25 });
      expect(verified.divergences).toEqual([
        expect.objectContaining({
          kind: 'missing',
          sequence: 26,
          lastMissing: 50,
          goneMonths: [month(1)],
        }),
      ]);

      const dropped = await maintainPartitions(db.url, {
        backend,
        now: at(7),
        retentionMonths: 2,
        drop: true,
      });
      expect(dropped.ran && dropped.tables[0]?.dropped).toEqual([3, 4].map(partition));
      await expect(
        agate.replay({ tenantId, sessionId: spanning.session.id, to: 60, from: 'genesis' }),
      ).rejects.toMatchObject({
        details: { sequence: 26, goneMonths: [1, 3, 4].map(month) },
      });
      expect(await agate.replay({ tenantId, sessionId: recent.session.id })).toMatchObject({
        sequence: perMonth,
        stateHash: recent.trace.at(-1)?.stateHash,
      });
    });

    it('checks the anchors the nightly job recorded in months now archived', async () => {
      const played = await playOver(agate, db, tenantId, playerId, [1, 4]);
      await db.pool.query(
        `INSERT INTO admin.audit_log (id, tenant_id, occurred_at, actor, action, subject, details)
         VALUES ($1, $2, $3, 'nightly', 'anchor.recorded', $4, $5)`,
        [uuidv7(), tenantId, at(1), played.session.id, { sequence: 10, headHash: '00'.repeat(32) }],
      );
      await maintainPartitions(db.url, { backend, now: at(5), retentionMonths: 2 });
      const archivedAudit = await db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM archive.audit_log WHERE action = 'anchor.recorded'",
      );
      expect(archivedAudit.rows[0]?.n).toBe(1);
      const r = await agate.replay({ tenantId, sessionId: played.session.id, verify: true });
      expect(r.divergences).toEqual([expect.objectContaining({ kind: 'anchor', sequence: 10 })]);
    });

    it('names a month an earlier version left detached in the archive, until maintenance attaches it', async () => {
      const archived = await playOver(agate, db, tenantId, playerId, [1]);
      await maintainPartitions(db.url, { backend, now: at(5), retentionMonths: 2 });
      const name = partition(1);
      // What retention left before archive.events: a detached month with its own guard.
      await db.pool.query(`ALTER TABLE archive.events DETACH PARTITION archive.${name}`);
      await db.pool.query(
        `CREATE TRIGGER refuse_update_delete BEFORE UPDATE OR DELETE ON archive.${name} FOR EACH ROW EXECUTE FUNCTION admin.refuse_change()`,
      );
      await expect(
        agate.replay({ tenantId, sessionId: archived.session.id }),
      ).rejects.toMatchObject({
        code: 'integrity_violation',
        message: expect.stringContaining(
          `its months ${month(1)} sit in the archive schema without being attached: run agate partitions maintain`,
        ) as unknown,
        details: { sequence: 1, lastMissing: perMonth, goneMonths: [month(1)] },
      });
      await maintainPartitions(db.url, { backend, now: at(5) });
      expect(await archivedParts(db)).toContain(name);
      const r = await agate.replay({ tenantId, sessionId: archived.session.id, verify: true });
      expect(r).toMatchObject({ verified: true, sequence: perMonth });
    });
  },
);
