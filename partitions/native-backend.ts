import type { Queryable } from '../src/db/index.js';
import { addMonths, defaultPartitionName, monthStart, partitionName } from './months.js';
import type { Month } from './months.js';
import type { MonthPartition } from './plan.js';
import { guardArchived, guardTruncate, ident, rel, timestampLiteral } from './sql.js';
import type { PartitionedTable } from './tables.js';

function bounds(month: Month): { from: string; to: string } {
  return {
    from: timestampLiteral(monthStart(month)),
    to: timestampLiteral(monthStart(addMonths(month, 1))),
  };
}

/** An empty monthly partition, with its TRUNCATE guard. */
export async function createMonth(
  db: Queryable,
  table: PartitionedTable,
  month: Month,
): Promise<string> {
  const name = partitionName(table, month);
  const { from, to } = bounds(month);
  await db.query(
    `CREATE TABLE ${rel(table.schema, name)} PARTITION OF ${rel(table.schema, table.table)} FOR VALUES FROM (${from}) TO (${to})`,
  );
  await guardTruncate(db, table.schema, name);
  return name;
}

/**
 * Moves the default partition's rows of one month into a new partition of that month, in the
 * caller's transaction: the append-only row trigger is disabled on the default partition only,
 * for the move, and enabled again before the transaction ends (a failure rolls both back).
 */
export async function moveMonthFromDefault(
  db: Queryable,
  table: PartitionedTable,
  month: Month,
): Promise<{ name: string; rows: number }> {
  const name = partitionName(table, month);
  const target = rel(table.schema, name);
  const source = rel(table.schema, defaultPartitionName(table));
  const column = table.column;
  const { from, to } = bounds(month);
  await db.query(
    `CREATE TABLE ${target} (LIKE ${rel(table.schema, table.table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)`,
  );
  await db.query(
    `ALTER TABLE ${target} ADD CONSTRAINT bounds_check CHECK (${column} >= ${from} AND ${column} < ${to})`,
  );
  await db.query(`ALTER TABLE ${source} DISABLE TRIGGER refuse_update_delete`);
  const moved = await db.query(
    `WITH moved AS (DELETE FROM ${source} WHERE ${column} >= ${from} AND ${column} < ${to} RETURNING *)
     INSERT INTO ${target} SELECT * FROM moved`,
  );
  await db.query(`ALTER TABLE ${source} ENABLE TRIGGER refuse_update_delete`);
  await db.query(
    `ALTER TABLE ${rel(table.schema, table.table)} ATTACH PARTITION ${target} FOR VALUES FROM (${from}) TO (${to})`,
  );
  await db.query(`ALTER TABLE ${target} DROP CONSTRAINT bounds_check`);
  await guardTruncate(db, table.schema, name);
  return { name, rows: moved.rowCount ?? 0 };
}

export async function createDefault(db: Queryable, table: PartitionedTable): Promise<string> {
  const name = defaultPartitionName(table);
  await db.query(
    `CREATE TABLE ${rel(table.schema, name)} PARTITION OF ${rel(table.schema, table.table)} DEFAULT`,
  );
  await guardTruncate(db, table.schema, name);
  return name;
}

/** Retention: detaches the partition and keeps it in the archive schema (append-only), or drops it. */
export async function detachMonth(
  db: Queryable,
  table: PartitionedTable,
  partition: MonthPartition,
  drop: boolean,
): Promise<void> {
  await db.query(
    `ALTER TABLE ${rel(table.schema, table.table)} DETACH PARTITION ${rel(table.schema, partition.name)}`,
  );
  if (drop) {
    await db.query(`DROP TABLE ${rel(table.schema, partition.name)}`);
    return;
  }
  await db.query(
    `ALTER TABLE ${rel(table.schema, partition.name)} SET SCHEMA ${ident(table.archiveSchema)}`,
  );
  await guardArchived(db, table.archiveSchema, partition.name);
}
