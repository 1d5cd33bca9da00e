import { uuidv7 } from 'uuidv7';
import type { PoolClient } from '../db/index.js';
import type { SnapshotReason } from './boundaries.js';

export type SnapshotRow = {
  tenantId: string;
  sessionId: string;
  sequence: number;
  rulesVersion: number;
  state: unknown;
  /** sha256 of the state's canonical JSON, hex. */
  stateHash: string;
  reason: SnapshotReason;
};

/**
 * Inserts one snapshot in the caller's transaction (tenant set: row-level security checks the
 * tenant). One snapshot per session and sequence: returns false, writing nothing, when there is
 * one already.
 */
export async function insertSnapshot(tx: PoolClient, row: SnapshotRow): Promise<boolean> {
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
