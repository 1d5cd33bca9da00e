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

/**
 * A fingerprint of the schema: tables, columns, constraints, triggers, policies, grants, and each
 * function's definition, owner and grants.
 */
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
        UNION ALL SELECT format('fn %s owner %s acl %s def %s', oid::regprocedure, proowner::regrole,
                                proacl::text, md5(pg_get_functiondef(oid))) FROM pg_proc
          WHERE pronamespace::regnamespace::text IN ('public', 'game', 'admin')
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
  '0013_feed',
  '0014_analytics_events',
  '0015_feed_consumer_grants',
  '0016_rate_limits',
  '0017_tenant_placements',
  '0018_tenant_moves',
  '0019_tenant_tombstones',
];

/** Every repeatable definition (migrations/repeatable), in the order they are applied. */
const repeatableNames = [
  'admin.check_tenant_fence',
  'admin.copy_event_groups',
  'admin.find_api_key',
  'admin.find_operator_key',
  'game.append_events',
  'game.append_sessions',
  'game.event_seeds',
  'game.session_head',
  'game.session_rules',
];

/** A copy of the migrations folder that a test may edit. */
async function migrationsCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agate-migrations-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await cp(defaultMigrationsDir(), dir, { recursive: true });
  return dir;
}

async function connected<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function functionState(client: pg.Client, signature: string): Promise<string> {
  const r = await client.query<{ state: string }>(
    `SELECT format('owner %s acl %s', proowner::regrole, proacl::text) AS state
       FROM pg_proc WHERE oid = $1::regprocedure`,
    [signature],
  );
  return r.rows[0]?.state ?? 'missing';
}

const appendSignature = 'game.append_events(uuid, uuid, bigint, jsonb, integer, text)';

describe('agate migrate', () => {
  it('migrates a fresh database, then a second run changes nothing', async () => {
    const url = await emptyDatabase();
    const first = await runCli(['migrate', '--json'], { DATABASE_URL: url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      applied: migrationTags,
      alreadyApplied: 0,
      repeatable: repeatableNames,
      placements: {},
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
    const reports = [a, b].map(
      (r) => JSON.parse(r.stdout) as { applied: string[]; repeatable: string[] },
    );
    expect(reports.map((r) => r.applied.length).sort()).toEqual([0, migrationTags.length]);
    // The repeatables run under the same lock: the run that applied the migrations applied them.
    expect(reports.map((r) => [r.applied.length, r.repeatable.length]).sort()).toEqual([
      [0, 0],
      [migrationTags.length, repeatableNames.length],
    ]);
  });

  it('migrates the embedded database when DATABASE_URL is not set', async () => {
    const result = await runCli(['migrate', '--json'], { AGATE_EMBEDDED: 'memory' });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      applied: string[];
      alreadyApplied: number;
      repeatable: string[];
    };
    expect(report.applied.length + report.alreadyApplied).toBe(migrationTags.length);
    // The embedded database was migrated when it opened, repeatables included.
    expect(report.repeatable).toEqual([]);
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
    // The last version that landed before 0011 (and before 0008 added events.written_by); it had
    // no repeatable definitions.
    parsed.entries = parsed.entries.filter((e) => e.idx <= 7);
    await writeFile(journal, JSON.stringify(parsed));
    await rm(join(dir, 'repeatable'), { recursive: true });
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
      await cp(join(defaultMigrationsDir(), 'repeatable'), join(dir, 'repeatable'), {
        recursive: true,
      });
      expect(await migrate(client, dir)).toMatchObject({
        applied: migrationTags.filter((tag) => Number(tag.slice(0, 4)) > 7),
        repeatable: repeatableNames,
      });
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
        pending: [...migrationTags, ...repeatableNames.map((name) => `repeatable/${name}`)],
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

/** The live game.append_events with a harmless change to its body. */
async function editAppendEvents(dir: string, marker: string): Promise<void> {
  const file = join(dir, 'repeatable', 'game.append_events.sql');
  const text = await readFile(file, 'utf8');
  const edited = text.replace(
    'BEGIN\n  PERFORM set_config',
    `BEGIN\n  -- ${marker}\n  PERFORM set_config`,
  );
  expect(edited).not.toBe(text);
  await writeFile(file, edited);
}

async function definitionOf(client: pg.Client, signature: string): Promise<string> {
  const r = await client.query<{ def: string }>(
    'SELECT pg_get_functiondef($1::regprocedure) AS def',
    [signature],
  );
  return r.rows[0]?.def ?? '';
}

describe('repeatable definitions', () => {
  it('makes a changed repeatable file pending, and migrate re-applies it once, keeping owner and grants', async () => {
    const url = await emptyDatabase();
    const dir = await migrationsCopy();
    await connected(url, async (client) => {
      await migrate(client, dir);
      const state = await functionState(client, appendSignature);
      expect(state).toMatch(/agate_app=X/);
      await editAppendEvents(dir, 'edited by the repeatable test');
      expect(await schemaStatus(client, dir)).toEqual({
        expected: migrationTags.length,
        applied: migrationTags.length,
        pending: ['repeatable/game.append_events'],
      });
      expect(await definitionOf(client, appendSignature)).not.toMatch(/edited by the repeatable/);
      expect(await migrate(client, dir)).toEqual({
        applied: [],
        alreadyApplied: migrationTags.length,
        repeatable: ['game.append_events'],
      });
      expect(await definitionOf(client, appendSignature)).toMatch(/edited by the repeatable test/);
      expect(await functionState(client, appendSignature)).toBe(state);
      expect((await schemaStatus(client, dir)).pending).toEqual([]);
      expect((await migrate(client, dir)).repeatable).toEqual([]);
    });
  });

  it('rolls back a repeatable that fails, leaving the old definition live and the file pending', async () => {
    const url = await emptyDatabase();
    const dir = await migrationsCopy();
    await connected(url, async (client) => {
      await migrate(client, dir);
      const before = await definitionOf(client, appendSignature);
      await editAppendEvents(dir, 'never committed');
      const file = join(dir, 'repeatable', 'game.append_events.sql');
      await writeFile(
        file,
        `${await readFile(file, 'utf8')}--> statement-breakpoint\nSELECT 1 / 0;\n`,
      );
      await expect(migrate(client, dir)).rejects.toThrow(
        /repeatable\/game\.append_events\.sql failed and was rolled back: division by zero/,
      );
      expect(await definitionOf(client, appendSignature)).toBe(before);
      expect((await schemaStatus(client, dir)).pending).toEqual(['repeatable/game.append_events']);
    });
  });

  it('keeps serve from starting while an applied definition differs from its file, until agate migrate', async () => {
    const url = await emptyDatabase();
    await runCli(['migrate'], { DATABASE_URL: url });
    // What an older release left: the database ran another text of this file.
    await connected(url, (client) =>
      client.query("UPDATE public.schema_repeatables SET checksum = 'older' WHERE name = $1", [
        'game.event_seeds',
      ]),
    );
    const refused = await runCli(['serve'], { DATABASE_URL: url, PORT: '0' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/run agate migrate/);
    const migrated = await runCli(['migrate'], { DATABASE_URL: url });
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toBe('Applied 1 repeatable definition(s): game.event_seeds.\n');
    await connected(url, async (client) => {
      expect((await schemaStatus(client)).pending).toEqual([]);
    });
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
