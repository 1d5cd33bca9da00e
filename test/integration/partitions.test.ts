import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  addMonths,
  formatMonth,
  maintainPartitions,
  monthOf,
  partitionStatus,
} from '../../partitions/index.js';
import type { Backend, PartitionStatus } from '../../partitions/index.js';
import { withTenant } from '../../src/db/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

const now = new Date();
const later = (months: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15));
const monthNames = (table: string, from: number, to: number) =>
  Array.from(
    { length: to - from + 1 },
    (_, i) => `${table}_p${formatMonth(addMonths(monthOf(now), from + i)).replace('-', '_')}`,
  );

async function withPartman(db: TestDatabase): Promise<void> {
  await db.pool.query('CREATE SCHEMA partman');
  await db.pool.query('CREATE EXTENSION pg_partman SCHEMA partman');
}

function shape(status: PartitionStatus) {
  return status.tables.map((t) => ({
    table: t.table,
    partitions: t.partitions.map((p) => [
      p.name,
      p.from?.toISOString() ?? 'default',
      p.to?.toISOString() ?? '',
    ]),
  }));
}

async function sqlState(db: TestDatabase, sql: string): Promise<string | undefined> {
  try {
    await db.pool.query(sql);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe.each<Backend>(['native', 'pg_partman'])(
  'partition maintenance with the %s backend',
  (backend) => {
    let db: TestDatabase;
    let agate: Agate;
    let tenantId: string;
    const maintain = (options: Parameters<typeof maintainPartitions>[1] = {}) =>
      maintainPartitions(db.url, { backend, ...options });

    beforeAll(async () => {
      db = await createTestDatabase();
      if (backend === 'pg_partman') await withPartman(db);
      agate = createAgate({ pool: db.pool, games: tinyGames });
      tenantId = (await createTenant(db.pool, { name: 'parts', actor: 'test' })).id;
    });
    afterAll(() => db.drop());

    it('keeps the window from one month back to three ahead, and a second run changes nothing', async () => {
      const first = await maintain({ now });
      expect(first.ran).toBe(true);
      const status = await partitionStatus(db.url, { now });
      for (const t of status.tables) {
        const table = t.table.split('.')[1] ?? '';
        expect(t.partitions.map((p) => p.name).sort()).toEqual(
          [`${table}_default`, ...monthNames(table, -1, 3)].sort(),
        );
        expect(t).toMatchObject({ backend, monthsAhead: 3, gaps: [], warnings: [] });
      }
      const second = await maintain({ now });
      expect(
        second.ran &&
          second.tables.every((t) => t.created.length + t.detached.length + t.moved.length === 0),
      ).toBe(true);
      expect(shape(await partitionStatus(db.url, { now }))).toEqual(shape(status));
    });

    it('moves rows that landed in the default partition into their month, losing nothing', async () => {
      const session = await agate.store.createSession({ tenantId, rules: 'tiny' });
      await agate.store.appendEvents({
        tenantId,
        sessionId: session.id,
        events: [{ type: 'counter.incremented', version: 1, data: { by: 1 } }],
      });
      await appendAt(
        db.pool,
        await agate.store.getSession({ tenantId, sessionId: session.id }),
        later(7),
        tinyEvents(5),
      );
      const before = await partitionStatus(db.url, { now });
      expect(before.tables[0]?.defaultPartition.rows).toBe(5);
      expect(before.tables[0]?.warnings.join()).toMatch(/default partition/);
      const report = await maintain({ now });
      expect(report.ran && report.tables[0]?.moved).toEqual([
        { month: formatMonth(monthOf(later(7))), rows: 5 },
      ]);
      const after = await partitionStatus(db.url, { now });
      expect(after.tables[0]).toMatchObject({ defaultPartition: { rows: 0 }, gaps: [] });
      const replay = await agate.replay({ tenantId, sessionId: session.id, verify: true });
      expect(replay).toMatchObject({ verified: true, sequence: 6 });
    });

    it('refuses UPDATE, DELETE and TRUNCATE on every partition after maintenance', async () => {
      for (const t of (await partitionStatus(db.url, { now })).tables) {
        const schema = t.table.split('.')[0] ?? '';
        for (const p of t.partitions) {
          expect(await sqlState(db, `TRUNCATE ${schema}.${p.name}`), p.name).toBe('AG001');
        }
      }
      const rows = await db.pool.query<{ name: string }>(
        'SELECT DISTINCT tableoid::regclass::text AS name FROM game.events',
      );
      expect(rows.rows.length).toBeGreaterThan(1);
      for (const { name } of rows.rows) {
        expect(await sqlState(db, `DELETE FROM ${name}`), name).toBe('AG001');
        expect(await sqlState(db, `UPDATE ${name} SET event_type = 'x'`), name).toBe('AG001');
      }
    });

    it('keeps the window right when "now" moves 14 months ahead, across a year end', async () => {
      const future = later(14);
      await maintain({ now: future });
      const status = await partitionStatus(db.url, { now: future });
      for (const t of status.tables) {
        expect(t).toMatchObject({ monthsAhead: 3, gaps: [], warnings: [] });
        const table = t.table.split('.')[1] ?? '';
        expect(t.partitions.map((p) => p.name)).toEqual(
          expect.arrayContaining(monthNames(table, 13, 17)),
        );
      }
    });

    it('never lets agate_app at a partition, and RLS still isolates tenants through the parent', async () => {
      const other = (await createTenant(db.pool, { name: 'other', actor: 'test' })).id;
      const status = await partitionStatus(db.url, { now: later(14) });
      for (const p of status.tables[0]?.partitions ?? []) {
        await expect(
          withTenant(db.pool, { tenantId }, (tx) => tx.query(`SELECT 1 FROM game.${p.name}`)),
        ).rejects.toMatchObject({ code: 'forbidden' });
      }
      const seen = await withTenant(db.pool, { tenantId: other }, (tx) =>
        tx.query<{ n: number }>('SELECT count(*)::int AS n FROM game.events'),
      );
      expect(seen.rows[0]?.n).toBe(0);
      const mine = await withTenant(db.pool, { tenantId }, (tx) =>
        tx.query<{ n: number }>('SELECT count(*)::int AS n FROM game.events'),
      );
      expect(mine.rows[0]?.n).toBe(6);
    });

    it('detaches and keeps old partitions on retention, append-only and readable; only --drop drops', async () => {
      const far = later(30);
      const report = await maintain({ now: far, retentionMonths: 6 });
      expect(report.ran && report.tables[0]?.detached.length).toBeGreaterThan(5);
      const status = await partitionStatus(db.url, { now: far });
      const archived = status.tables[0]?.archived ?? [];
      const holding = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM archive.${monthNames('events', 0, 0)[0]}`,
      );
      expect(holding.rows[0]?.n).toBe(1);
      const holder = monthNames('events', 0, 0)[0] ?? '';
      expect(archived).toContain(holder);
      expect(await sqlState(db, `DELETE FROM archive.${holder}`)).toBe('AG001');
      expect(await sqlState(db, `UPDATE archive.${holder} SET event_type = 'x'`)).toBe('AG001');
      expect(await sqlState(db, `TRUNCATE archive.${holder}`)).toBe('AG001');
      expect(status.tables[0]).toMatchObject({
        settings: { retentionMonths: 6 },
        monthsAhead: 3,
        gaps: [],
      });
      const dropped = await maintain({ now: later(32), drop: true });
      expect(dropped.ran && dropped.tables[0]?.dropped.length).toBe(2);
      expect(dropped.ran && dropped.tables[0]?.detached).toEqual([]);
      expect((await partitionStatus(db.url, { now: later(32) })).tables[0]?.archived).toEqual(
        archived,
      );
    });

    it('lets only one of two overlapping runs do the work; the other returns cleanly', async () => {
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      try {
        await holder.query("SELECT pg_advisory_lock('7163020553791425001')");
        await expect(maintain({ now })).resolves.toMatchObject({ ran: false, reason: 'locked' });
      } finally {
        await holder.end();
      }
      const [a, b] = await Promise.all([
        maintain({ now: later(33) }),
        maintain({ now: later(33) }),
      ]);
      expect([a.ran, b.ran]).toContain(true);
      const status = await partitionStatus(db.url, { now: later(33) });
      expect(status.tables.every((t) => t.monthsAhead === 3 && t.gaps.length === 0)).toBe(true);
    });

    it('rolls a failed run back and says what to run', async () => {
      const before = shape(await partitionStatus(db.url, { now: later(38) }));
      const blocker = new pg.Client({ connectionString: db.url });
      await blocker.connect();
      try {
        // Another session holds the table: maintenance gives up after its lock timeout, changing nothing.
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE game.events IN ACCESS EXCLUSIVE MODE');
        await expect(maintain({ now: later(38) })).rejects.toMatchObject({
          code: 'maintenance_failed',
          message: expect.stringMatching(
            /game\.events failed and was rolled back.*agate partitions maintain/s,
          ) as unknown,
        });
      } finally {
        await blocker.end();
      }
      expect(shape(await partitionStatus(db.url, { now: later(38) }))[0]).toEqual(before[0]);
      await expect(maintain({ now: later(38) })).resolves.toMatchObject({ ran: true });
    });

    it('plans without changing anything on a dry run', async () => {
      const before = shape(await partitionStatus(db.url, { now: later(50) }));
      const report = await maintain({ now: later(50), dryRun: true });
      expect(report.ran && report.tables[0]?.plan?.create.length).toBeGreaterThan(0);
      expect(shape(await partitionStatus(db.url, { now: later(50) }))).toEqual(before);
    });
  },
);

describe('both backends', () => {
  it('produce the same partitions for the same clock, and pg_partman adopts a native table keeping every row', async () => {
    const [native, partman] = [await createTestDatabase(), await createTestDatabase()];
    try {
      await withPartman(partman);
      for (const months of [0, 5, 14]) {
        await maintainPartitions(native.url, { now: later(months), backend: 'native' });
        await maintainPartitions(partman.url, { now: later(months), backend: 'pg_partman' });
        expect(shape(await partitionStatus(partman.url, { now: later(months) }))).toEqual(
          shape(await partitionStatus(native.url, { now: later(months) })),
        );
      }
      // Adoption: a natively kept table with rows in several months and in the default.
      const agate = createAgate({ pool: native.pool, games: tinyGames });
      const tenantId = (await createTenant(native.pool, { name: 'adopt', actor: 'test' })).id;
      const session = await agate.store.createSession({ tenantId, rules: 'tiny' });
      await appendAt(native.pool, session, later(1), tinyEvents(3));
      await appendAt(
        native.pool,
        await agate.store.getSession({ tenantId, sessionId: session.id }),
        later(30),
        tinyEvents(2),
      );
      const before = shape(await partitionStatus(native.url, { now: later(14) }));
      await withPartman(native);
      const report = await maintainPartitions(native.url, { now: later(14) });
      expect(report.ran && report.tables.map((t) => t.backend)).toEqual([
        'pg_partman',
        'pg_partman',
        'pg_partman',
      ]);
      const after = await partitionStatus(native.url, { now: later(14) });
      expect(
        after.tables.every((t) => t.backend === 'pg_partman' && t.defaultPartition.rows === 0),
      ).toBe(true);
      const names = new Set(after.tables[0]?.partitions.map((p) => p.name));
      for (const [name] of before[0]?.partitions ?? [])
        expect(names.has(name ?? ''), name).toBe(true);
      const count = await native.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM game.events',
      );
      expect(count.rows[0]?.n).toBe(5);
      expect(await agate.replay({ tenantId, sessionId: session.id, verify: true })).toMatchObject({
        verified: true,
      });
      const config = await native.pool.query<{
        parent_table: string;
        inherit_privileges: boolean;
        infinite_time_partitions: boolean;
      }>(
        'SELECT parent_table, inherit_privileges, infinite_time_partitions FROM partman.part_config ORDER BY 1',
      );
      expect(config.rows).toEqual([
        {
          parent_table: 'admin.audit_log',
          inherit_privileges: false,
          infinite_time_partitions: true,
        },
        {
          parent_table: 'analytics.events',
          inherit_privileges: false,
          infinite_time_partitions: true,
        },
        { parent_table: 'game.events', inherit_privileges: false, infinite_time_partitions: true },
      ]);
    } finally {
      await native.drop();
      await partman.drop();
    }
  });
});
