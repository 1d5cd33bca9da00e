import type { Queryable } from '../src/db/index.js';
import { monthOf } from './months.js';
import type { Month } from './months.js';
import type { CurrentLayout, MonthPartition } from './plan.js';
import { qualified } from './tables.js';
import type { PartitionedTable } from './tables.js';

export type PartitionInfo = {
  name: string;
  /** null for the default partition. */
  from: Date | null;
  to: Date | null;
  estimatedRows: number | null;
  bytes: number;
};

type Row = { name: string; bound: string; reltuples: number; bytes: number };

/** `2026-10-01 00:00:00+00` (PostgreSQL's text form in a UTC session) as a Date. */
function parseBound(text: string): Date {
  return new Date(text.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
}

/** Every partition of the table with its bounds; the caller's session must use TimeZone UTC. */
export async function listPartitions(
  db: Queryable,
  table: PartitionedTable,
): Promise<PartitionInfo[]> {
  const r = await db.query<Row>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
            c.reltuples::float8 AS reltuples, pg_total_relation_size(c.oid)::float8 AS bytes
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass
      ORDER BY c.relname`,
    [qualified(table)],
  );
  return r.rows.map((row) => {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(row.bound);
    return {
      name: row.name,
      from: m?.[1] === undefined ? null : parseBound(m[1]),
      to: m?.[2] === undefined ? null : parseBound(m[2]),
      estimatedRows: row.reltuples < 0 ? null : Math.round(row.reltuples),
      bytes: row.bytes,
    };
  });
}

/** A partition is monthly when it spans exactly one UTC calendar month. */
export function asMonth(p: PartitionInfo): Month | undefined {
  if (p.from === null || p.to === null) return undefined;
  const month = monthOf(p.from);
  const next = new Date(Date.UTC(month.year, month.month, 1));
  const exact =
    p.from.getTime() === Date.UTC(month.year, month.month - 1, 1) &&
    p.to.getTime() === next.getTime();
  return exact ? month : undefined;
}

/** Months with rows in the default partition, with their counts. */
export async function defaultRows(
  db: Queryable,
  table: PartitionedTable,
): Promise<{ month: Month; rows: number }[]> {
  const exists = await db.query<{ present: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS present',
    [`${table.schema}.${table.table}_default`],
  );
  if (exists.rows[0]?.present !== true) return [];
  const r = await db.query<{ month: Date; rows: number }>(
    `SELECT date_trunc('month', ${table.column}, 'UTC') AS month, count(*)::float8 AS rows
       FROM ${table.schema}.${table.table}_default GROUP BY 1 ORDER BY 1`,
  );
  return r.rows.map((row) => ({ month: monthOf(row.month), rows: row.rows }));
}

export async function currentLayout(
  db: Queryable,
  table: PartitionedTable,
): Promise<CurrentLayout> {
  const partitions = await listPartitions(db, table);
  const monthly: MonthPartition[] = partitions.flatMap((p) => {
    const month = asMonth(p);
    return month === undefined ? [] : [{ name: p.name, month }];
  });
  return {
    monthly,
    hasDefault: partitions.some((p) => p.from === null && p.name === `${table.table}_default`),
    defaultMonths: (await defaultRows(db, table)).map((d) => d.month),
  };
}

/** Tables of this parent kept in the archive schema by retention. */
export async function archivedPartitions(
  db: Queryable,
  table: PartitionedTable,
): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname LIKE $2 ORDER BY 1`,
    [table.archiveSchema, `${table.table}\\_p%`],
  );
  return r.rows.map((row) => row.name);
}
