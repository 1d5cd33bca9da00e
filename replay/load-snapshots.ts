import type { PoolClient } from '../src/db/index.js';

export type StoredSnapshot = {
  sequence: number;
  rulesVersion: number;
  stateHash: string;
  reason: string;
  createdAt: Date;
};

/** The session's snapshots at or below `to`, newest first, without their states. In the caller's transaction. */
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

export async function loadSnapshotState(
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
