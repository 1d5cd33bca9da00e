import type { Queryable } from '../db/index.js';
import { AgateError } from '../errors/index.js';

// What holds every tenant's feed back (ADR 0021): the feed delivers only transactions older than
// `pg_snapshot_xmin(pg_current_snapshot())`, the oldest transaction id still running anywhere in
// the cluster (every database, and prepared transactions too). A transaction gets an id when it
// first writes, whatever it writes, so any open write transaction holds the horizon where it is.

/** The open transaction with the oldest id: the one the feed waits for. */
export type FeedHolder = {
  /** A backend's open transaction, or a prepared one (PREPARE TRANSACTION) waiting for its COMMIT PREPARED. */
  kind: 'backend' | 'prepared';
  /** The transaction id (xid, as text). */
  transactionId: string;
  /** The backend's process id (null for a prepared transaction). */
  pid: number | null;
  applicationName: string | null;
  /** pg_stat_activity's state ('idle in transaction', 'active', ...), 'prepared', or null when the reading login may not see it. */
  state: string | null;
  database: string | null;
  /** The prepared transaction's identifier (null for a backend). */
  gid: string | null;
  /** When the transaction began (null when the reading login may not see it). */
  startedAt: Date | null;
  /** Seconds since it began (null when unknown). */
  ageSeconds: number | null;
};

export type FeedHorizon = {
  /** `pg_snapshot_xmin(pg_current_snapshot())` as text: the feed delivers transactions below it. */
  horizon: string;
  /** Open transactions that hold an id, in the whole cluster (prepared ones included). */
  openWriteTransactions: number;
  /** The oldest of them, or null when none is open. */
  oldest: FeedHolder | null;
};

type HorizonRow = {
  horizon: string;
  open_count: number;
  kind: FeedHolder['kind'] | null;
  xid: string | null;
  pid: number | null;
  application_name: string | null;
  state: string | null;
  database: string | null;
  gid: string | null;
  started_at: Date | null;
  age_seconds: number | null;
};

// One statement, read-only, so it takes no transaction id of its own. age(xid) orders by how far
// back each id lies from the next one, which survives xid wraparound. The login's own backend is
// left out (its statement has no xid anyway). pg_stat_activity hides state and xact_start of
// other roles' backends unless the login has pg_read_all_stats (or pg_monitor, or is a
// superuser); backend_xid, pid and application_name are visible to all.
const horizonQuery = `
  WITH holders AS (
    SELECT 'backend'::text AS kind, a.backend_xid AS xid, a.pid, a.application_name, a.state,
           a.datname::text AS database, NULL::text AS gid, a.xact_start AS started_at
      FROM pg_stat_activity a
     WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
    UNION ALL
    SELECT 'prepared', p.transaction, NULL, NULL, 'prepared', p.database::text, p.gid, p.prepared
      FROM pg_prepared_xacts p
  )
  SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon,
         (SELECT count(*)::integer FROM holders) AS open_count,
         o.kind, o.xid::text AS xid, o.pid, o.application_name, o.state, o.database, o.gid,
         o.started_at,
         extract(epoch FROM clock_timestamp() - o.started_at)::float8 AS age_seconds
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT * FROM holders ORDER BY age(xid) DESC, started_at LIMIT 1) o ON true`;

/**
 * The feed's horizon and the open transaction holding it, read with the executor's login (not a
 * switched role, so a superuser or a login with pg_read_all_stats sees every backend's state and
 * start). One read-only statement: it holds nothing back itself.
 */
export async function feedHorizon(executor: Queryable): Promise<FeedHorizon> {
  const result = await executor.query<HorizonRow>(horizonQuery);
  const row = result.rows[0];
  if (row === undefined)
    throw new AgateError('internal', 'The feed horizon query returned no row.');
  const oldest: FeedHolder | null =
    row.kind === null || row.xid === null
      ? null
      : {
          kind: row.kind,
          transactionId: row.xid,
          pid: row.pid,
          applicationName: row.application_name,
          state: row.state,
          database: row.database,
          gid: row.gid,
          startedAt: row.started_at,
          ageSeconds: row.age_seconds,
        };
  return { horizon: row.horizon, openWriteTransactions: row.open_count, oldest };
}
