// Repeatable migrations (as Flyway's): migrations/repeatable/<schema>.<function>.sql holds the one
// current definition of a database function. Invariants: they run after every numbered
// migration, in file-name order, each in its own transaction with its ledger row; one is pending
// while its checksum differs from the one recorded (or none is recorded), and applying it again
// must leave the same database (CREATE OR REPLACE, grants that are idempotent). The ledger,
// public.schema_repeatables, is created by the migrator like public.schema_migrations.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../hashing/index.js';
import { applyInTransaction } from './apply-in-transaction.js';
import type { Queryable } from './pool.js';

export type Repeatable = { name: string; statements: string[]; checksum: string };

const breakpoint = '--> statement-breakpoint';

/** `<dir>/repeatable/*.sql`, sorted by file name (the order they are applied in). */
export async function loadRepeatables(dir: string): Promise<Repeatable[]> {
  const folder = join(dir, 'repeatable');
  if (!existsSync(folder)) return [];
  const files = (await readdir(folder)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(folder, file), 'utf8');
      const statements = text
        .split(breakpoint)
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      return {
        name: file.slice(0, -'.sql'.length),
        statements,
        checksum: sha256(text).toString('hex'),
      };
    }),
  );
}

export const createRepeatableLedger = `CREATE TABLE IF NOT EXISTS public.schema_repeatables (
  name text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** The checksum recorded for each repeatable applied so far (none before the first migrate). */
export async function appliedRepeatables(db: Queryable): Promise<Map<string, string>> {
  const exists = await db.query<{ present: boolean }>(
    "SELECT to_regclass('public.schema_repeatables') IS NOT NULL AS present",
  );
  if (exists.rows[0]?.present !== true) return new Map();
  const rows = await db.query<{ name: string; checksum: string }>(
    'SELECT name, checksum FROM public.schema_repeatables ORDER BY name',
  );
  return new Map(rows.rows.map((r) => [r.name, r.checksum]));
}

/** The repeatables whose text differs from what this database last applied, in apply order. */
export function pendingRepeatables(
  repeatables: Repeatable[],
  applied: Map<string, string>,
): Repeatable[] {
  return repeatables.filter((r) => applied.get(r.name) !== r.checksum);
}

/** Applies one repeatable and records its checksum in one transaction. */
export async function applyRepeatable(client: Queryable, repeatable: Repeatable): Promise<void> {
  const what = `Repeatable migration repeatable/${repeatable.name}.sql`;
  await applyInTransaction(client, what, repeatable.statements, {
    sql: `INSERT INTO public.schema_repeatables (name, checksum) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
    values: [repeatable.name, repeatable.checksum],
  });
}
