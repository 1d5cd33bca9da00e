// The reads and writes of game.snapshots: the only module that holds their SQL. Invariants: every
// statement runs in the caller's transaction, under its tenant (RLS checks the tenant on insert
// too); a snapshot is keyed by (session_id, sequence), one per sequence; snapshots are derived
// data, so deleting one is allowed and rebuilding it restores it.
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
