import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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

describe('agate migrate', () => {
  it('migrates a fresh database, then a second run changes nothing', async () => {
    const url = await emptyDatabase();
    const first = await runCli(['migrate', '--json'], { DATABASE_URL: url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      applied: [
        '0000_base',
        '0001_security',
        '0002_partition_settings',
        '0003_anchors',
        '0004_key_lookup',
        '0005_session_rules_lookup',
        '0006_append_duplicate_check_by_index',
        '0007_append_generic_plans',
        '0010_nightly_audit',
      ],
      alreadyApplied: 0,
    });
    const before = await fingerprint(url);
    const second = await runCli(['migrate'], { DATABASE_URL: url });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/up to date \(9 migrations/);
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
    expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 9]);
  });

  it('migrates the embedded database when DATABASE_URL is not set', async () => {
    const result = await runCli(['migrate', '--json'], { AGATE_EMBEDDED: 'memory' });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { applied: string[]; alreadyApplied: number };
    expect(report.applied.length + report.alreadyApplied).toBe(9);
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

  it('reports pending migrations before and none after', async () => {
    const url = await emptyDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      expect(await schemaStatus(client)).toEqual({
        expected: 9,
        applied: 0,
        pending: [
          '0000_base',
          '0001_security',
          '0002_partition_settings',
          '0003_anchors',
          '0004_key_lookup',
          '0005_session_rules_lookup',
          '0006_append_duplicate_check_by_index',
          '0007_append_generic_plans',
          '0010_nightly_audit',
        ],
      });
      await migrate(client);
      expect(await schemaStatus(client)).toEqual({ expected: 9, applied: 9, pending: [] });
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
