import { connectClient } from '../src/db/index.js';
import type { Queryable } from '../src/db/index.js';
import { archivedPartitions, asMonth, defaultRows, listPartitions } from './inspect.js';
import type { PartitionInfo } from './inspect.js';
import { addMonths, compareMonths, formatMonth, monthOf, monthRange } from './months.js';
import { isRegistered, partmanSchema } from './partman-backend.js';
import type { PartitionSettings } from './plan.js';
import type { Backend } from './run-table.js';
import { loadSettings } from './settings.js';
import { partitionedTables, qualified } from './tables.js';
import type { PartitionedTable } from './tables.js';

export type TableStatus = {
  table: string;
  backend: Backend;
  settings: PartitionSettings;
  partitions: (PartitionInfo & { month: string | null })[];
  defaultPartition: { rows: number; months: { month: string; rows: number }[] };
  /** Consecutive months after the current one that have a partition. */
  monthsAhead: number;
  /** Months between the oldest and the newest partition that have none. */
  gaps: string[];
  archived: string[];
  /** What an operator should act on; empty when all is well. */
  warnings: string[];
};

export type PartitionStatus = { now: string; tables: TableStatus[] };

async function tableStatus(
  db: Queryable,
  table: PartitionedTable,
  partman: string | null,
  now: Date,
): Promise<TableStatus> {
  const partitions = (await listPartitions(db, table)).map((p) => {
    const month = asMonth(p);
    return { ...p, month: month === undefined ? null : formatMonth(month) };
  });
  const months = partitions
    .flatMap((p) => {
      const m = asMonth(p);
      return m === undefined ? [] : [m];
    })
    .sort(compareMonths);
  const have = new Set(months.map(formatMonth));
  const current = monthOf(now);
  let monthsAhead = 0;
  while (have.has(formatMonth(addMonths(current, monthsAhead + 1)))) monthsAhead += 1;
  const gaps =
    months.length === 0
      ? []
      : monthRange(months[0]!, months[months.length - 1]!)
          .map(formatMonth)
          .filter((m) => !have.has(m));
  const inDefault = (await defaultRows(db, table)).map((d) => ({
    month: formatMonth(d.month),
    rows: d.rows,
  }));
  const settings = await loadSettings(db, table);
  const backend: Backend =
    partman !== null && (await isRegistered(db, partman, table)) ? 'pg_partman' : 'native';
  const warnings = [
    ...(monthsAhead < settings.premake
      ? [
          `only ${monthsAhead} month(s) ahead of ${formatMonth(current)}, premake is ${settings.premake}: run agate partitions maintain`,
        ]
      : []),
    ...(inDefault.length > 0
      ? [
          `${inDefault.reduce((n, d) => n + d.rows, 0)} row(s) in the default partition: run agate partitions maintain to move them`,
        ]
      : []),
    ...(gaps.length > 0
      ? [`gaps in the range (${gaps.join(', ')}): run agate partitions maintain`]
      : []),
    ...(partitions.some((p) => p.from === null && p.name === `${table.table}_default`)
      ? []
      : ['no default partition: rows outside every month would be refused']),
  ];
  return {
    table: qualified(table),
    backend,
    settings,
    partitions,
    defaultPartition: { rows: inDefault.reduce((n, d) => n + d.rows, 0), months: inDefault },
    monthsAhead,
    gaps,
    archived: await archivedPartitions(db, table),
    warnings,
  };
}

/** Every time-partitioned table's partitions, bounds, sizes, window ahead, default rows, gaps and retention. */
export async function partitionStatus(
  connectionString: string,
  options: { now?: Date } = {},
): Promise<PartitionStatus> {
  const now = options.now ?? new Date();
  const client = await connectClient({ connectionString, applicationName: 'agate partitions' });
  try {
    await client.query('BEGIN READ ONLY');
    await client.query("SET LOCAL timezone = 'UTC'");
    const partman = await partmanSchema(client);
    const tables: TableStatus[] = [];
    for (const table of partitionedTables)
      tables.push(await tableStatus(client, table, partman, now));
    await client.query('COMMIT');
    return { now: now.toISOString(), tables };
  } finally {
    await client.end();
  }
}
