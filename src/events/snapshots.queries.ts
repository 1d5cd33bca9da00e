// The reads and writes of game.snapshots: the only module that holds their SQL. Invariants: every
// statement runs in the caller's transaction, under its tenant (RLS checks the tenant on insert
// too), except the nightly job's and the metrics' reads across tenants, which say so and run as
// agate_maintenance; a snapshot is keyed by (session_id, sequence), one per sequence; snapshots
// are derived data, so deleting one is allowed and rebuilding it restores it.
import { uuidv7 } from 'uuidv7';
import type { PoolClient } from '../db/index.js';

export type StoredSnapshot = {
  sequence: number;
  rulesVersion: number;
  stateHash: string;
  reason: string;
  createdAt: Date;
};

/** What `insertSnapshot` writes. */
export type NewSnapshot = {
  tenantId: string;
  sessionId: string;
  sequence: number;
  rulesVersion: number;
  state: unknown;
  /** sha256 of the state's canonical JSON, hex. */
  stateHash: string;
  reason: string;
};

/** The session's snapshots at or below `to`, newest first, without their states. */
export async function listSnapshots(
  tx: PoolClient,
  sessionId: string,
  to: number,
): Promise<StoredSnapshot[]> {
  const r = await tx.query<{
    sequence: number;
    rules_version: number;
    state_hash: Buffer;
    reason: string;
    created_at: Date;
  }>(
    `SELECT sequence, rules_version, state_hash, reason, created_at
       FROM game.snapshots WHERE session_id = $1 AND sequence <= $2 ORDER BY sequence DESC`,
    [sessionId, to],
  );
  return r.rows.map((row) => ({
    sequence: row.sequence,
    rulesVersion: row.rules_version,
    stateHash: row.state_hash.toString('hex'),
    reason: row.reason,
    createdAt: row.created_at,
  }));
}

/** The state of the session's snapshot at `sequence`, or undefined when there is none. */
export async function selectSnapshotState(
  tx: PoolClient,
  sessionId: string,
  sequence: number,
): Promise<unknown> {
  const r = await tx.query<{ state: unknown }>(
    'SELECT state FROM game.snapshots WHERE session_id = $1 AND sequence = $2',
    [sessionId, sequence],
  );
  return r.rows[0]?.state;
}

/**
 * Inserts one snapshot. One snapshot per session and sequence: returns false, writing nothing,
 * when there is one already.
 */
export async function insertSnapshot(tx: PoolClient, row: NewSnapshot): Promise<boolean> {
  const r = await tx.query(
    `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (session_id, sequence) DO NOTHING`,
    [
      uuidv7(),
      row.tenantId,
      row.sessionId,
      row.sequence,
      row.rulesVersion,
      JSON.stringify(row.state),
      Buffer.from(row.stateHash, 'hex'),
      row.reason,
    ],
  );
  return r.rowCount === 1;
}

/**
 * Inserts snapshots in one statement, each as `insertSnapshot` would (one per session and
 * sequence: one already there is left as it is). Returns how many were written.
 */
export async function insertSnapshots(
  tx: PoolClient,
  rows: readonly NewSnapshot[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await tx.query(
    `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::integer[],
                          $6::jsonb[], $7::bytea[], $8::text[])
     ON CONFLICT (session_id, sequence) DO NOTHING`,
    [
      rows.map(() => uuidv7()),
      rows.map((row) => row.tenantId),
      rows.map((row) => row.sessionId),
      rows.map((row) => row.sequence),
      rows.map((row) => row.rulesVersion),
      rows.map((row) => JSON.stringify(row.state)),
      rows.map((row) => Buffer.from(row.stateHash, 'hex')),
      rows.map((row) => row.reason),
    ],
  );
  return r.rowCount ?? 0;
}

/** Deletes the session's snapshot at `sequence` (none there: nothing happens). */
export async function deleteSnapshot(
  tx: PoolClient,
  sessionId: string,
  sequence: number,
): Promise<void> {
  await tx.query('DELETE FROM game.snapshots WHERE session_id = $1 AND sequence = $2', [
    sessionId,
    sequence,
  ]);
}

/** How many snapshots the caller's tenant has. */
export async function countSnapshots(tx: PoolClient): Promise<number> {
  const r = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM game.snapshots');
  return r.rows[0]?.n ?? 0;
}

/** Where a snapshot is due: a session (and its tenant) and the sequence it should reflect. */
export type SnapshotSpot = { tenantId: string; sessionId: string; sequence: number };

type SpotRow = { session_id: string; tenant_id: string; sequence: number };

function spotOf(row: SpotRow): SnapshotSpot {
  return { tenantId: row.tenant_id, sessionId: row.session_id, sequence: row.sequence };
}

/**
 * Across tenants (agate_maintenance): each session with events before `boundary` whose last
 * event before it has no snapshot at or after it, with that event's sequence, by session id.
 */
export async function listDayBoundaryTargets(
  tx: PoolClient,
  boundary: Date,
): Promise<SnapshotSpot[]> {
  const r = await tx.query<SpotRow>(
    `SELECT s.id AS session_id, s.tenant_id, t.target AS sequence
       FROM game.sessions s
       CROSS JOIN LATERAL (
         SELECT max(e.sequence) AS target FROM game.events e
          WHERE e.session_id = s.id AND e.server_time >= s.first_event_at AND e.server_time < $1) t
      WHERE s.first_event_at < $1 AND t.target IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence >= t.target)
      ORDER BY s.id`,
    [boundary],
  );
  return r.rows.map(spotOf);
}

/**
 * Across tenants (agate_maintenance): every multiple of `interval` up to a session's last
 * sequence that has no snapshot, by session id then sequence.
 */
export async function listMissingIntervalTargets(
  tx: PoolClient,
  interval: number,
): Promise<SnapshotSpot[]> {
  const r = await tx.query<SpotRow>(
    `SELECT s.id AS session_id, s.tenant_id, g.sequence
       FROM game.sessions s CROSS JOIN LATERAL generate_series($1::bigint, s.last_sequence, $1::bigint) AS g(sequence)
      WHERE s.last_sequence >= $1
        AND NOT EXISTS (SELECT 1 FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence = g.sequence)
      ORDER BY s.id, g.sequence`,
    [interval],
  );
  return r.rows.map(spotOf);
}

/** How many of `spots` have no snapshot (across tenants as agate_maintenance). */
export async function countMissingSnapshots(
  tx: PoolClient,
  spots: readonly { sessionId: string; sequence: number }[],
): Promise<number> {
  const r = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM unnest($1::uuid[], $2::bigint[]) AS t(session_id, sequence)
      WHERE NOT EXISTS (SELECT 1 FROM game.snapshots s WHERE s.session_id = t.session_id AND s.sequence = t.sequence)`,
    [spots.map((t) => t.sessionId), spots.map((t) => t.sequence)],
  );
  return r.rows[0]?.n ?? 0;
}

/**
 * Across tenants (agate_maintenance): the largest number of events past the newest snapshot
 * among the `sessions` most recently updated in the last hour, 0 when there are none. Each
 * session's newest snapshot is one descent of the (session_id, sequence) index; the sessions are
 * filtered on updated_at, which has no index, so the caller bounds it with a statement timeout.
 */
export async function selectSnapshotLag(tx: PoolClient, sessions: number): Promise<number> {
  const result = await tx.query<{ lag: number }>(
    `SELECT coalesce(max(s.last_sequence - coalesce(latest.sequence, 0)), 0)::float8 AS lag
       FROM (SELECT id, last_sequence FROM game.sessions
              WHERE updated_at > now() - interval '1 hour'
              ORDER BY updated_at DESC LIMIT $1) s
       LEFT JOIN LATERAL (SELECT max(sequence) AS sequence FROM game.snapshots
                           WHERE session_id = s.id) latest ON true`,
    [sessions],
  );
  return result.rows[0]?.lag ?? 0;
}
