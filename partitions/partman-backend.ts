import type { Queryable } from '../src/db/index.js';
import { addMonths, defaultPartitionName, monthOf, monthStart } from './months.js';
import type { Month } from './months.js';
import type { PartitionSettings } from './plan.js';
import { ident, rel } from './sql.js';
import { qualified } from './tables.js';
import type { PartitionedTable } from './tables.js';

/** The schema pg_partman is installed in, or null when this database does not have it. */
export async function partmanSchema(db: Queryable): Promise<string | null> {
  const r = await db.query<{ schema: string }>(
    "SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_partman'",
  );
  return r.rows[0]?.schema ?? null;
}

export async function isRegistered(
  db: Queryable,
  schema: string,
  table: PartitionedTable,
): Promise<boolean> {
  const r = await db.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${ident(schema)}.part_config WHERE parent_table = $1) AS present`,
    [qualified(table)],
  );
  return r.rows[0]?.present === true;
}

/**
 * Hands a natively managed table to pg_partman, keeping every partition and row. pg_partman
 * creates its own default partition, so ours (which must be empty: move its rows first) is
 * dropped; when pg_partman finds nothing to create it skips the default, so it is made again here.
 */
export async function adopt(
  db: Queryable,
  schema: string,
  table: PartitionedTable,
  oldest: Month,
  settings: PartitionSettings,
): Promise<void> {
  const fallback = defaultPartitionName(table);
  await db.query(`DROP TABLE IF EXISTS ${rel(table.schema, fallback)}`);
  await db.query(
    `SELECT ${ident(schema)}.create_parent(p_parent_table => $1, p_control => $2, p_type => 'native',
            p_interval => 'monthly', p_premake => $3, p_start_partition => $4)`,
    [qualified(table), table.column, settings.premake, monthStart(oldest).toISOString()],
  );
  const exists = await db.query<{ present: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS present',
    [`${table.schema}.${fallback}`],
  );
  if (exists.rows[0]?.present !== true) {
    await db.query(
      `CREATE TABLE ${rel(table.schema, fallback)} PARTITION OF ${rel(table.schema, table.table)} DEFAULT`,
    );
  }
}

/** Keeps part_config as DBAs expect it: premake counted from now, grants never copied, retention detaching into the archive schema. */
export async function configure(
  db: Queryable,
  schema: string,
  table: PartitionedTable,
  settings: PartitionSettings,
): Promise<void> {
  await db.query(
    `UPDATE ${ident(schema)}.part_config
        SET premake = $2, infinite_time_partitions = true, inherit_privileges = false,
            retention = $3, retention_keep_table = true, retention_schema = $4
      WHERE parent_table = $1`,
    [
      qualified(table),
      settings.premake,
      settings.retentionMonths === null ? null : `${settings.retentionMonths} months`,
      table.archiveSchema,
    ],
  );
}

/** Creates the given months (pg_partman's naming and template), skipping those that exist. */
export async function createMonths(
  db: Queryable,
  schema: string,
  table: PartitionedTable,
  months: readonly Month[],
): Promise<void> {
  if (months.length === 0) return;
  await db.query(`SELECT ${ident(schema)}.create_partition_time($1, $2::timestamptz[])`, [
    qualified(table),
    months.map((m) => monthStart(m).toISOString()),
  ]);
}

/** Moves every row out of the default partition into its month (row trigger off on the default only, in this transaction). */
export async function moveFromDefault(
  db: Queryable,
  schema: string,
  table: PartitionedTable,
): Promise<void> {
  const fallback = rel(table.schema, defaultPartitionName(table));
  await db.query(`ALTER TABLE ${fallback} DISABLE TRIGGER refuse_update_delete`);
  await db.query(
    `SELECT ${ident(schema)}.partition_data_time(p_parent_table := $1, p_batch_count := 100000)`,
    [qualified(table)],
  );
  await db.query(`ALTER TABLE ${fallback} ENABLE TRIGGER refuse_update_delete`);
  await db.query(`SELECT ${ident(schema)}.partition_gap_fill($1)`, [qualified(table)]);
}

/**
 * Retention relative to `now`: pg_partman detaches a partition when its start plus one interval
 * is before reference minus retention; with the start of next month as the reference that is
 * exactly "months before the current month minus R", as the native backend does it.
 */
export async function applyRetention(
  db: Queryable,
  schema: string,
  table: PartitionedTable,
  retentionMonths: number,
  drop: boolean,
  now: Date,
): Promise<void> {
  const config = `${ident(schema)}.part_config`;
  // A NULL p_retention_schema means "use the config", which archives: to drop, clear it for this
  // transaction only.
  if (drop)
    await db.query(`UPDATE ${config} SET retention_schema = NULL WHERE parent_table = $1`, [
      qualified(table),
    ]);
  await db.query(
    `SELECT ${ident(schema)}.drop_partition_time($1, p_retention := $2::interval, p_keep_table := $3,
            p_retention_schema := $4, p_reference_timestamp := $5)`,
    [
      qualified(table),
      `${retentionMonths} months`,
      !drop,
      drop ? null : table.archiveSchema,
      monthStart(addMonths(monthOf(now), 1)).toISOString(),
    ],
  );
  if (drop)
    await db.query(`UPDATE ${config} SET retention_schema = $2 WHERE parent_table = $1`, [
      qualified(table),
      table.archiveSchema,
    ]);
}
