import type pg from 'pg';
import { AgateError } from '../src/errors/index.js';
import { connectClient, fromPgError } from '../src/db/index.js';
import { archivedPartitions, currentLayout, defaultRows } from './inspect.js';
import { formatMonth, partitionName } from './months.js';
import { partmanSchema } from './partman-backend.js';
import { planTable } from './plan.js';
import type { PartitionSettings, TablePlan } from './plan.js';
import { runTable } from './run-table.js';
import type { Backend } from './run-table.js';
import { applyChange, checkChange, loadSettings, saveSettings } from './settings.js';
import type { SettingsChange } from './settings.js';
import { partitionedTables, qualified } from './tables.js';
import type { PartitionedTable } from './tables.js';

export type MaintainOptions = SettingsChange & {
  /** The clock maintenance plans from (tests move it; default: now). */
  now?: Date;
  /** Drop partitions past retention instead of detaching and keeping them. */
  drop?: boolean;
  dryRun?: boolean;
  /** 'auto' (default) uses pg_partman when the extension is installed in the database. */
  backend?: 'auto' | Backend;
};

export type TableReport = {
  table: string;
  backend: Backend;
  settings: PartitionSettings;
  created: string[];
  moved: { month: string; rows: number }[];
  detached: string[];
  dropped: string[];
  /** With dryRun: what would be done, and nothing was. */
  plan?: { create: string[]; moveFromDefault: string[]; detach: string[]; createDefault: boolean };
};

export type MaintainReport =
  | { ran: true; now: string; dryRun: boolean; tables: TableReport[] }
  | { ran: false; reason: 'locked'; message: string };

/** One maintenance run at a time per database; the second finds the lock taken and returns. */
const lockKey = '7163020553791425001';

async function inTransaction<T>(
  client: pg.Client,
  work: () => Promise<T>,
  table: PartitionedTable,
  commit: boolean,
): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL timezone = 'UTC'");
    await client.query("SET LOCAL lock_timeout = '5s'");
    const result = await work();
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    const cause = fromPgError(error);
    throw new AgateError(
      'maintenance_failed',
      `Partition maintenance of ${qualified(table)} failed and was rolled back, so nothing changed for it: ${cause.message} Fix the cause, then run agate partitions maintain again.`,
      { cause: error },
    );
  }
}

function describePlan(table: PartitionedTable, plan: TablePlan): NonNullable<TableReport['plan']> {
  return {
    create: plan.create.map((m) => partitionName(table, m)),
    moveFromDefault: plan.moveFromDefault.map(formatMonth),
    detach: plan.detach.map((p) => p.name),
    createDefault: plan.createDefault,
  };
}

async function maintainTable(
  client: pg.Client,
  table: PartitionedTable,
  options: MaintainOptions,
  partman: string | null,
  now: Date,
): Promise<TableReport> {
  const dryRun = options.dryRun === true;
  return inTransaction(
    client,
    async () => {
      const settings = applyChange(await loadSettings(client, table), options);
      const before = await currentLayout(client, table);
      const defaultBefore = await defaultRows(client, table);
      const archivedBefore = new Set(await archivedPartitions(client, table));
      const report: TableReport = {
        table: qualified(table),
        backend: partman === null ? 'native' : 'pg_partman',
        settings,
        created: [],
        moved: [],
        detached: [],
        dropped: [],
      };
      if (dryRun)
        return { ...report, plan: describePlan(table, planTable(table, before, settings, now)) };
      await saveSettings(client, table, settings);
      await runTable(client, { table, settings, now, drop: options.drop === true, partman });
      const after = await currentLayout(client, table);
      const defaultAfter = await defaultRows(client, table);
      const archived = await archivedPartitions(client, table);
      const names = (l: typeof before) => new Set(l.monthly.map((p) => p.name));
      const [was, is] = [names(before), names(after)];
      report.created = [...is].filter((n) => !was.has(n)).sort();
      const gone = [...was].filter((n) => !is.has(n)).sort();
      report.detached = gone.filter((n) => archived.includes(n) && !archivedBefore.has(n));
      report.dropped = gone.filter((n) => !report.detached.includes(n));
      report.moved = defaultBefore
        .map((d) => ({
          month: formatMonth(d.month),
          rows:
            d.rows -
            (defaultAfter.find((a) => formatMonth(a.month) === formatMonth(d.month))?.rows ?? 0),
        }))
        .filter((m) => m.rows > 0);
      return report;
    },
    table,
    !dryRun,
  );
}

async function chooseBackend(
  client: pg.Client,
  wanted: MaintainOptions['backend'],
): Promise<string | null> {
  if (wanted === 'native') return null;
  const schema = await partmanSchema(client);
  if (wanted === 'pg_partman' && schema === null) {
    throw new AgateError(
      'extension_missing',
      'pg_partman is not installed in this database. As a superuser: CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman; or run with --backend native.',
    );
  }
  return schema;
}

/**
 * Keeps every time-partitioned table's monthly partitions ready: the window from one month back
 * to `premake` ahead of `now`, gaps filled, rows in the default partition moved to their months,
 * retention applied. Runs on its own short-lived connection (DDL needs the tables' owner: the
 * DATABASE_URL login), each table in its own transaction, under an advisory lock: a second run
 * at the same time returns `{ ran: false }` without waiting.
 */
export async function maintainPartitions(
  connectionString: string,
  options: MaintainOptions = {},
): Promise<MaintainReport> {
  checkChange(options);
  const now = options.now ?? new Date();
  const client = await connectClient({
    connectionString,
    statementTimeoutMs: 0,
    applicationName: 'agate partitions',
  });
  try {
    const locked = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      lockKey,
    ]);
    if (locked.rows[0]?.ok !== true) {
      return {
        ran: false,
        reason: 'locked',
        message:
          'Another partition maintenance run holds the lock; it does the work. Nothing to do here.',
      };
    }
    const partman = await chooseBackend(client, options.backend);
    const tables: TableReport[] = [];
    for (const table of partitionedTables)
      tables.push(await maintainTable(client, table, options, partman, now));
    return { ran: true, now: now.toISOString(), dryRun: options.dryRun === true, tables };
  } finally {
    await client.end();
  }
}
