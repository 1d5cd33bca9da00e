import { addMonths, compareMonths, monthOf, monthRange, monthsBetween } from './months.js';
import type { Month } from './months.js';
import type { PartitionedTable } from './tables.js';

/** A monthly partition as it exists now. */
export type MonthPartition = { name: string; month: Month };

export type PartitionSettings = {
  /** Months kept ready after the current one (default 3). */
  premake: number;
  /** Detach partitions whose month ended more than this many months before the current one; null keeps all. */
  retentionMonths: number | null;
};

export type CurrentLayout = {
  monthly: readonly MonthPartition[];
  hasDefault: boolean;
  /** Months for which rows sit in the default partition. */
  defaultMonths: readonly Month[];
};

export type TablePlan = {
  /** Months to create empty: the window ahead and behind, and gaps between existing months. */
  create: Month[];
  /** Months whose rows are moved out of the default partition into a new partition of their own. */
  moveFromDefault: Month[];
  /** Partitions older than the retention window, detached (and kept, unless dropping). */
  detach: MonthPartition[];
  createDefault: boolean;
};

const key = (m: Month) => m.year * 12 + m.month;

/**
 * What maintenance must do to one table, as a pure function of what exists, the settings and
 * "now": the window from one month back to `premake` ahead, every gap between the oldest and the
 * newest month filled, rows in the default partition moved to their months, old months detached.
 */
export function planTable(
  table: PartitionedTable,
  layout: CurrentLayout,
  settings: PartitionSettings,
  now: Date,
): TablePlan {
  const current = monthOf(now);
  const existing = new Set(layout.monthly.map((p) => key(p.month)));
  const moveFromDefault = uniqueSorted(layout.defaultMonths).filter((m) => !existing.has(key(m)));
  const moving = new Set(moveFromDefault.map(key));
  const window = monthRange(addMonths(current, -1), addMonths(current, settings.premake));
  const known = [...layout.monthly.map((p) => p.month), ...window, ...moveFromDefault].sort(
    compareMonths,
  );
  const span =
    known.length === 0 ? [] : monthRange(known[0] as Month, known[known.length - 1] as Month);
  const cutoff =
    settings.retentionMonths === null ? null : addMonths(current, -settings.retentionMonths);
  const keep = (m: Month) => cutoff === null || monthsBetween(cutoff, m) >= 0;
  const create = span.filter((m) => !existing.has(key(m)) && !moving.has(key(m)) && keep(m));
  const detach = layout.monthly
    .filter((p) => !keep(p.month))
    .sort((a, b) => compareMonths(a.month, b.month));
  return { create, moveFromDefault, detach, createDefault: !layout.hasDefault };
}

function uniqueSorted(months: readonly Month[]): Month[] {
  const seen = new Map(months.map((m) => [key(m), m]));
  return [...seen.values()].sort(compareMonths);
}
