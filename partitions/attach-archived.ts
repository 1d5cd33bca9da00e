import type { Queryable } from '../src/db/index.js';
import { addMonths, monthStart } from './months.js';
import type { Month } from './months.js';
import { rel, timestampLiteral } from './sql.js';
import type { PartitionedTable } from './tables.js';

function monthOfName(table: PartitionedTable, name: string): Month | undefined {
  const m = new RegExp(`^${table.table}_p(\\d{4})_(\\d{2})$`).exec(name);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { year: Number(m[1]), month: Number(m[2]) };
}

/**
 * Attaches every month of `table` that retention keeps in the archive schema (either backend, or
 * an earlier version of agate) and that is not attached yet to its archive parent of the same
 * name (`archive.events`, `archive.audit_log`, `analytics_archive.events`), in the caller's transaction, so the store reads
 * it under the parent's tenant policy. A detached month carries its own append-only row trigger; attaching clones the
 * parent's under the same name, so its own goes first (in this transaction: a failure restores
 * it). The month's bounds come from its name, which both backends give it. Returns the names.
 */
export async function attachArchived(db: Queryable, table: PartitionedTable): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT c.relispartition AND c.relname LIKE $2
      ORDER BY 1`,
    [table.archiveSchema, `${table.table}\\_p%`],
  );
  const attached: string[] = [];
  for (const { name } of r.rows) {
    const month = monthOfName(table, name);
    if (month === undefined) continue;
    const partition = rel(table.archiveSchema, name);
    await db.query(`DROP TRIGGER IF EXISTS refuse_update_delete ON ${partition}`);
    await db.query(
      `ALTER TABLE ${rel(table.archiveSchema, table.table)} ATTACH PARTITION ${partition}
         FOR VALUES FROM (${timestampLiteral(monthStart(month))}) TO (${timestampLiteral(monthStart(addMonths(month, 1)))})`,
    );
    attached.push(name);
  }
  return attached;
}
