import type { PartitionedTable } from './tables.js';

/** A calendar month in UTC, as year and month (1..12). */
export type Month = { year: number; month: number };

export function monthOf(date: Date): Month {
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1 };
}

export function addMonths(m: Month, count: number): Month {
  const index = m.year * 12 + (m.month - 1) + count;
  return { year: Math.floor(index / 12), month: (index % 12) + 1 };
}

/** Months from `a` to `b`: negative when b is earlier. */
export function monthsBetween(a: Month, b: Month): number {
  return b.year * 12 + b.month - (a.year * 12 + a.month);
}

export function compareMonths(a: Month, b: Month): number {
  return monthsBetween(b, a);
}

/** The first instant of the month, UTC. */
export function monthStart(m: Month): Date {
  return new Date(Date.UTC(m.year, m.month - 1, 1));
}

/** `events_p2026_11`, the name pg_partman gives monthly partitions. */
export function partitionName(table: PartitionedTable, m: Month): string {
  return `${table.table}_p${m.year}_${String(m.month).padStart(2, '0')}`;
}

export function defaultPartitionName(table: PartitionedTable): string {
  return `${table.table}_default`;
}

export function formatMonth(m: Month): string {
  return `${m.year}-${String(m.month).padStart(2, '0')}`;
}

/** `first`, `first+1`, ... up to and including `last`. */
export function monthRange(first: Month, last: Month): Month[] {
  const count = monthsBetween(first, last);
  return Array.from({ length: Math.max(0, count + 1) }, (_, i) => addMonths(first, i));
}
