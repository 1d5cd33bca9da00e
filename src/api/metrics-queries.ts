import { addMonths, formatMonth, monthOf } from '../../partitions/index.js';
import { withMaintenance } from '../db/index.js';
import { selectSnapshotLag, verifyBacklog } from '../events/index.js';
import { readNightlyState } from '../jobs/nightly/index.js';
import type { Pool, PoolClient } from '../db/index.js';

// The gauges a scrape reads from PostgreSQL. All run as agate_maintenance (they cross tenants),
// read-only, under a short statement_timeout, and return only numbers: never an id.

/** Sessions considered for the snapshot lag: the most recently updated of the last hour. */
export const snapshotLagSessions = 1000;
const statementTimeout = '2s';

async function readOnly(tx: PoolClient): Promise<void> {
  await tx.query('SET TRANSACTION READ ONLY');
  await tx.query(`SET LOCAL statement_timeout = '${statementTimeout}'`);
}

/**
 * The largest number of events past the newest snapshot among the sessions updated in the last
 * hour (at most `snapshotLagSessions` of them), 0 when there are none: how far the snapshot
 * worker is behind where it matters. Each session's newest snapshot is one descent of the
 * (session_id, sequence) index; the sessions are filtered on updated_at, which has no index,
 * hence the timeout. Replays of such a session fold at least this many events.
 */
export async function snapshotLag(pool: Pool): Promise<number> {
  return withMaintenance(pool, async (tx) => {
    await readOnly(tx);
    return selectSnapshotLag(tx, snapshotLagSessions);
  });
}

type Bounds = { from: Date | null; to: Date | null };

/** A partition that spans exactly one UTC calendar month, as `2026-11`. */
function monthlyName({ from, to }: Bounds): string | undefined {
  if (from === null || to === null) return undefined;
  const month = monthOf(from);
  const start = Date.UTC(month.year, month.month - 1, 1);
  const next = Date.UTC(month.year, month.month, 1);
  return from.getTime() === start && to.getTime() === next ? formatMonth(month) : undefined;
}

/**
 * How many consecutive months after the current one (UTC, at `now`) have a game.events
 * partition: what `agate partitions status` reports as monthsAhead, from the catalog alone (no
 * row counts), so it is cheap enough for every scrape.
 */
export async function partitionsAhead(pool: Pool, now: Date): Promise<number> {
  const rows = await withMaintenance(pool, async (tx) => {
    await readOnly(tx);
    const bound = String.raw`FROM \('([^']+)'\) TO \('([^']+)'\)`;
    const result = await tx.query<Bounds>(
      `SELECT m[1]::timestamptz AS "from", m[2]::timestamptz AS "to"
         FROM (SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid), $1) AS m
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'game.events'::regclass) p`,
      [bound],
    );
    return result.rows;
  });
  const have = new Set(rows.flatMap((row) => monthlyName(row) ?? []));
  const current = monthOf(now);
  let ahead = 0;
  while (have.has(formatMonth(addMonths(current, ahead + 1)))) ahead += 1;
  return ahead;
}

/** Divergences the nightly audit has recorded, each once (admin.integrity_findings). */
export async function integrityDivergences(pool: Pool): Promise<number> {
  return withMaintenance(pool, async (tx) => {
    await readOnly(tx);
    const r = await tx.query<{ n: number }>(
      'SELECT count(*)::float8 AS n FROM admin.integrity_findings',
    );
    return r.rows[0]?.n ?? 0;
  });
}

/** When the last nightly run completed, in Unix seconds; 0 when none has. */
export async function nightlyLastSuccess(pool: Pool): Promise<number> {
  return withMaintenance(pool, async (tx) => {
    await readOnly(tx);
    const { lastSuccessAt } = await readNightlyState(tx);
    return lastSuccessAt === null ? 0 : lastSuccessAt.getTime() / 1000;
  });
}

/** Sessions the rolling full re-verification has not reached in its current pass. */
export async function verifyBacklogSessions(pool: Pool): Promise<number> {
  return withMaintenance(pool, async (tx) => {
    await readOnly(tx);
    return verifyBacklog(tx);
  });
}
