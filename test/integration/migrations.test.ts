import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultMigrationsDir, migrate, schemaStatus } from '../../src/db/index.js';
import { repoRoot, runCli } from '../support/run-cli.js';
import { createEmptyDatabase } from '../support/test-database.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function emptyDatabase(): Promise<string> {
  const db = await createEmptyDatabase();
  cleanups.push(() => db.drop());
  return db.url;
}

/** A fingerprint of the schema: tables, columns, constraints, triggers, policies, grants. */
async function fingerprint(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ f: string }>(`
      SELECT string_agg(x, E'\\n' ORDER BY x) AS f FROM (
        SELECT format('col %s.%s.%s %s', table_schema, table_name, column_name, data_type) AS x
          FROM information_schema.columns WHERE table_schema IN ('public', 'game', 'admin')
        UNION ALL SELECT format('con %s %s', conrelid::regclass, conname) FROM pg_constraint
          WHERE connamespace::regnamespace::text IN ('public', 'game', 'admin')
        UNION ALL SELECT format('trg %s %s', tgrelid::regclass, tgname) FROM pg_trigger WHERE NOT tgisinternal
        UNION ALL SELECT format('pol %s.%s %s', schemaname, tablename, policyname) FROM pg_policies
        UNION ALL SELECT format('acl %s %s', oid::regclass, relacl::text) FROM pg_class
          WHERE relnamespace::regnamespace::text IN ('public', 'game', 'admin')
      ) s`);
    return r.rows[0]?.f ?? '';
  } finally {
    await client.end();
  }
}

/** Every migration, in the order `agate migrate` applies them. */
const migrationTags = [
  '0000_base',
  '0001_security',
  '0002_partition_settings',
  '0003_anchors',
  '0004_key_lookup',
  '0005_session_rules_lookup',
  '0006_append_duplicate_check_by_index',
  '0007_append_generic_plans',
  '0008_retries_seeds_writers',
  '0009_operator_keys',
  '0010_nightly_audit',
  '0011_archived_events',
  '0012_snapshot_rebuild',
];

describe('agate migrate', () => {
  it('migrates a fresh database, then a second run changes nothing', async () => {
    const url = await emptyDatabase();
    const first = await runCli(['migrate', '--json'], { DATABASE_URL: url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      applied: migrationTags,
      alreadyApplied: 0,
    });
    const before = await fingerprint(url);
    const second = await runCli(['migrate'], { DATABASE_URL: url });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`up to date \\(${migrationTags.length} migrations`));
    expect(await fingerprint(url)).toBe(before);
    expect(before).toMatch(/pol game\.events tenant_isolation/);
  });

  it('lets two runs race on one database: one applies, the other waits and finds nothing to do', async () => {
    const url = await emptyDatabase();
    const [a, b] = await Promise.all([
      runCli(['migrate', '--json'], { DATABASE_URL: url }),
      runCli(['migrate', '--json'], { DATABASE_URL: url }),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const reports = [a, b].map((r) => JSON.parse(r.stdout) as { applied: string[] });
    expect(reports.map((r) => r.applied.length).sort()).toEqual([0, migrationTags.length]);
  });

  it('migrates the embedded database when DATABASE_URL is not set', async () => {
    const result = await runCli(['migrate', '--json'], { AGATE_EMBEDDED: 'memory' });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { applied: string[]; alreadyApplied: number };
    expect(report.applied.length + report.alreadyApplied).toBe(migrationTags.length);
  });

  it('says what to do when the database is unreachable', async () => {
    const result = await runCli(['migrate'], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/agate',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/check DATABASE_URL/);
  });

  it('refuses to run when a landed migration was edited', async () => {
    const url = await emptyDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'agate-migrations-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await cp(defaultMigrationsDir(), dir, { recursive: true });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migrate(client, dir);
      await writeFile(join(dir, '0000_base.sql'), '-- edited\nSELECT 1;');
      await expect(migrate(client, dir)).rejects.toMatchObject({ code: 'schema_out_of_date' });
      await expect(schemaStatus(client, dir)).rejects.toThrow(/never edited/);
    } finally {
      await client.end();
    }
  });

  it('attaches the months an earlier version archived, keeping them append-only and under RLS', async () => {
    const url = await emptyDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'agate-migrations-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await cp(defaultMigrationsDir(), dir, { recursive: true });
    const journal = join(dir, 'meta', '_journal.json');
    const full = await readFile(journal, 'utf8');
    const parsed = JSON.parse(full) as { entries: { idx: number; tag: string }[] };
    // The last version that landed before 0011 (and before 0008 added events.written_by).
    parsed.entries = parsed.entries.filter((e) => e.idx <= 7);
    await writeFile(journal, JSON.stringify(parsed));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migrate(client, dir);
      // What retention did before 0011: detach the month, move it to archive, guard it.
      const month = await client.query<{ suffix: string; start: Date }>(
        `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM') AS suffix,
                date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start`,
      );
      const suffix = month.rows[0]?.suffix ?? '';
      const start = month.rows[0]?.start ?? new Date(0);
      const next = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
      const tables = [
        { live: 'game.events', archive: 'archive.events', name: `events_p${suffix}` },
        { live: 'admin.audit_log', archive: 'archive.audit_log', name: `audit_log_p${suffix}` },
      ];
      for (const t of tables) {
        const schema = t.live.split('.')[0] ?? '';
        await client.query(`ALTER TABLE ${t.live} DETACH PARTITION ${schema}.${t.name}`);
        await client.query(`ALTER TABLE ${schema}.${t.name} SET SCHEMA archive`);
        await client.query(
          `CREATE TRIGGER refuse_update_delete BEFORE UPDATE OR DELETE ON archive.${t.name} FOR EACH ROW EXECUTE FUNCTION admin.refuse_change()`,
        );
      }
      await writeFile(journal, full);
      expect((await migrate(client, dir)).applied).toEqual(
        migrationTags.filter((tag) => Number(tag.slice(0, 4)) > 7),
      );
      for (const t of tables) {
        const attached = await client.query<{ parent: string; lo: Date; hi: Date }>(
          `SELECT i.inhparent::regclass::text AS parent, b[1]::timestamptz AS lo, b[2]::timestamptz AS hi
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
                  regexp_match(pg_get_expr(c.relpartbound, c.oid), $re$FROM \\('([^']+)'\\) TO \\('([^']+)'\\)$re$) AS b
            WHERE c.oid = $1::regclass`,
          [`archive.${t.name}`],
        );
        expect(attached.rows).toEqual([{ parent: t.archive, lo: start, hi: next }]);
        const triggers = await client.query<{ tgname: string; cloned: boolean }>(
          `SELECT tgname, tgparentid <> 0 AS cloned FROM pg_trigger
            WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY 1`,
          [`archive.${t.name}`],
        );
        expect(triggers.rows).toEqual([
          { tgname: 'refuse_truncate', cloned: false },
          { tgname: 'refuse_update_delete', cloned: true },
        ]);
        const policy = await client.query<{ forced: boolean }>(
          'SELECT relforcerowsecurity AS forced FROM pg_class WHERE oid = $1::regclass',
          [t.archive],
        );
        expect(policy.rows[0]?.forced).toBe(true);
      }
    } finally {
      await client.end();
    }
  });

  it('reports pending migrations before and none after', async () => {
    const url = await emptyDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      expect(await schemaStatus(client)).toEqual({
        expected: migrationTags.length,
        applied: 0,
        pending: migrationTags,
      });
      await migrate(client);
      expect(await schemaStatus(client)).toEqual({
        expected: migrationTags.length,
        applied: migrationTags.length,
        pending: [],
      });
    } finally {
      await client.end();
    }
  });
});

describe('drizzle schema and migrations', () => {
  it('agree: drizzle-kit generate on a clean checkout produces no new migration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agate-drift-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await cp(defaultMigrationsDir(), dir, { recursive: true });
    const before = await readdir(dir, { recursive: true });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'node_modules/drizzle-kit/bin.cjs'),
        'generate',
        '--dialect=postgresql',
        '--schema=./src/db/schema.ts',
        // drizzle-kit only accepts a path relative to the working directory
        `--out=${relative(repoRoot, dir)}`,
      ],
      { cwd: repoRoot },
    );
    expect(stdout).toMatch(/No schema changes/);
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(before.sort());
  });
});
