import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgateError } from '../errors/index.js';
import { sha256 } from '../hashing/index.js';
import { applyInTransaction } from './apply-in-transaction.js';
import type { Queryable } from './pool.js';
import {
  appliedRepeatables,
  applyRepeatable,
  createRepeatableLedger,
  loadRepeatables,
  pendingRepeatables,
} from './repeatable-migrations.js';

type Migration = { idx: number; tag: string; statements: string[]; checksum: string };

/**
 * `applied`: numbered migrations applied by this run; `alreadyApplied`: numbered ones found
 * applied; `repeatable`: repeatable definitions (re)applied by this run, by name.
 */
export type MigrationReport = { applied: string[]; alreadyApplied: number; repeatable: string[] };
/**
 * `expected` and `applied` count numbered migrations; `pending` lists the numbered ones not
 * applied, then `repeatable/<name>` for each repeatable definition that is new or changed.
 */
export type SchemaStatus = { expected: number; applied: number; pending: string[] };

const breakpoint = '--> statement-breakpoint';
/** A constant advisory-lock key: migrations of one database never run twice at once. */
const lockKey = 7_163_020_553_791_425n;

/** The folder holding `meta/_journal.json`, found from this file whether run from src or dist. */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new AgateError(
        'internal',
        'Cannot find the migrations folder next to the agate package.',
      );
    }
    dir = parent;
  }
}

export async function loadMigrations(dir = defaultMigrationsDir()): Promise<Migration[]> {
  const journal = JSON.parse(await readFile(join(dir, 'meta', '_journal.json'), 'utf8')) as {
    entries: { idx: number; tag: string }[];
  };
  return Promise.all(
    journal.entries.map(async ({ idx, tag }) => {
      const text = await readFile(join(dir, `${tag}.sql`), 'utf8');
      const statements = text
        .split(breakpoint)
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      return { idx, tag, statements, checksum: sha256(text).toString('hex') };
    }),
  );
}

const createLedger = `CREATE TABLE IF NOT EXISTS public.schema_migrations (
  idx integer PRIMARY KEY,
  tag text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

async function appliedMigrations(
  db: Queryable,
): Promise<Map<number, { tag: string; checksum: string }>> {
  const exists = await db.query<{ present: boolean }>(
    "SELECT to_regclass('public.schema_migrations') IS NOT NULL AS present",
  );
  if (exists.rows[0]?.present !== true) return new Map();
  const rows = await db.query<{ idx: number; tag: string; checksum: string }>(
    'SELECT idx, tag, checksum FROM public.schema_migrations ORDER BY idx',
  );
  return new Map(rows.rows.map((r) => [r.idx, { tag: r.tag, checksum: r.checksum }]));
}

function assertUnchanged(migration: Migration, applied: { tag: string; checksum: string }): void {
  if (applied.checksum !== migration.checksum || applied.tag !== migration.tag) {
    throw new AgateError(
      'schema_out_of_date',
      `Migration ${migration.tag} differs from the one applied to this database (${applied.tag}). Landed migrations are never edited: restore the original file and add a new migration for the change.`,
    );
  }
}

/**
 * Applies every pending migration, each in its own transaction, then every new or changed
 * repeatable definition, all under a database-wide advisory lock so concurrent runs wait for
 * each other and then find nothing to do. `client` must be a dedicated connection
 * (session-level lock), not a pool.
 */
export async function migrate(
  client: Queryable,
  dir = defaultMigrationsDir(),
): Promise<MigrationReport> {
  const migrations = await loadMigrations(dir);
  const repeatables = await loadRepeatables(dir);
  await client.query('SELECT pg_advisory_lock($1)', [lockKey.toString()]);
  try {
    await client.query(createLedger);
    await client.query(createRepeatableLedger);
    const applied = await appliedMigrations(client);
    const report: MigrationReport = { applied: [], alreadyApplied: 0, repeatable: [] };
    for (const migration of migrations) {
      const done = applied.get(migration.idx);
      if (done !== undefined) {
        assertUnchanged(migration, done);
        report.alreadyApplied += 1;
        continue;
      }
      await applyOne(client, migration);
      report.applied.push(migration.tag);
    }
    for (const repeatable of pendingRepeatables(repeatables, await appliedRepeatables(client))) {
      await applyRepeatable(client, repeatable);
      report.repeatable.push(repeatable.name);
    }
    return report;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [lockKey.toString()]);
  }
}

async function applyOne(client: Queryable, migration: Migration): Promise<void> {
  await applyInTransaction(client, `Migration ${migration.tag}`, migration.statements, {
    sql: 'INSERT INTO public.schema_migrations (idx, tag, checksum) VALUES ($1, $2, $3)',
    values: [migration.idx, migration.tag, migration.checksum],
  });
}

/** What the server checks at boot: is this database at the schema this code expects? */
export async function schemaStatus(
  db: Queryable,
  dir = defaultMigrationsDir(),
): Promise<SchemaStatus> {
  const migrations = await loadMigrations(dir);
  const applied = await appliedMigrations(db);
  const repeatables = pendingRepeatables(await loadRepeatables(dir), await appliedRepeatables(db));
  for (const migration of migrations) {
    const done = applied.get(migration.idx);
    if (done !== undefined) assertUnchanged(migration, done);
  }
  return {
    expected: migrations.length,
    applied: applied.size,
    pending: [
      ...migrations.filter((m) => !applied.has(m.idx)).map((m) => m.tag),
      ...repeatables.map((r) => `repeatable/${r.name}`),
    ],
  };
}
