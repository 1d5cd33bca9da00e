import type { Queryable } from '../src/db/index.js';
import { attachArchived } from './attach-archived.js';
import { archivedPartitions, currentLayout, defaultRows, listPartitions } from './inspect.js';
import { createDefault, createMonth, detachMonth, moveMonthFromDefault } from './native-backend.js';
import {
  adopt,
  applyRetention,
  configure,
  createMonths,
  isRegistered,
  moveFromDefault,
} from './partman-backend.js';
import { planTable } from './plan.js';
import type { CurrentLayout, PartitionSettings, TablePlan } from './plan.js';
import { guardArchived, guardTruncate } from './sql.js';
import type { PartitionedTable } from './tables.js';

export type Backend = 'native' | 'pg_partman';
export type RunInput = {
  table: PartitionedTable;
  settings: PartitionSettings;
  now: Date;
  drop: boolean;
  partman: string | null;
};

async function runNative(db: Queryable, input: RunInput, plan: TablePlan): Promise<void> {
  for (const month of plan.moveFromDefault) await moveMonthFromDefault(db, input.table, month);
  for (const month of plan.create) await createMonth(db, input.table, month);
  if (plan.createDefault) await createDefault(db, input.table);
  for (const partition of plan.detach) await detachMonth(db, input.table, partition, input.drop);
}

async function runPartman(
  db: Queryable,
  schema: string,
  input: RunInput,
  layout: CurrentLayout,
): Promise<void> {
  const { table, settings, now } = input;
  if (!(await isRegistered(db, schema, table))) {
    // Adoption: pg_partman replaces the default partition, so it must be empty first.
    for (const month of planTable(table, layout, settings, now).moveFromDefault)
      await moveMonthFromDefault(db, table, month);
    const oldest = [...layout.monthly.map((p) => p.month)].sort(
      (a, b) => a.year * 12 + a.month - (b.year * 12 + b.month),
    )[0];
    await adopt(
      db,
      schema,
      table,
      oldest ?? { year: now.getUTCFullYear(), month: now.getUTCMonth() + 1 },
      settings,
    );
  }
  await configure(db, schema, table, settings);
  if ((await defaultRows(db, table)).length > 0) await moveFromDefault(db, schema, table);
  // Not partman.run_maintenance(): it counts premake from the unrounded current time, so after
  // the 15th it makes one month more than asked. Its building blocks, driven by agate's clock,
  // give exactly the window the native backend keeps.
  await createMonths(
    db,
    schema,
    table,
    planTable(table, await currentLayout(db, table), settings, now).create,
  );
  if (settings.retentionMonths !== null)
    await applyRetention(db, schema, table, settings.retentionMonths, input.drop, now);
}

/**
 * Maintains one table in the caller's transaction (session time zone UTC): the plan for the
 * native backend, or pg_partman's own functions for the same outcome, then the TRUNCATE guard
 * on every partition, every archived month attached to its archive parent and the append-only
 * guards on every archived month.
 */
export async function runTable(db: Queryable, input: RunInput): Promise<Backend> {
  const layout = await currentLayout(db, input.table);
  if (input.partman === null)
    await runNative(db, input, planTable(input.table, layout, input.settings, input.now));
  else await runPartman(db, input.partman, input, layout);
  for (const p of await listPartitions(db, input.table))
    await guardTruncate(db, input.table.schema, p.name);
  await attachArchived(db, input.table);
  for (const name of await archivedPartitions(db, input.table))
    await guardArchived(db, input.table.archiveSchema, name);
  return input.partman === null ? 'native' : 'pg_partman';
}
