import { uuidv7 } from 'uuidv7';
import { withTenant } from '../db/index.js';
import { checkRef } from '../events/index.js';
import { replayInTransaction } from '../../replay/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import type { SnapshotReason } from './boundaries.js';

export type SnapshotTarget = {
  tenantId: string;
  sessionId: string;
  sequence: number;
  reason: SnapshotReason;
};
export type WrittenSnapshot = { sequence: number; stateHash: string; created: boolean };

/**
 * Saves the session's state at exactly `sequence` (replayed from the newest snapshot below it),
 * in one transaction in the tenant's context. Idempotent: one snapshot per session and sequence;
 * a second call writes nothing.
 */
export async function writeSnapshot(
  deps: ReplayDeps,
  target: SnapshotTarget,
): Promise<WrittenSnapshot> {
  const { tenantId, sessionId } = checkRef(target);
  return withTenant(deps.pool, { tenantId }, async (tx) => {
    const replay = await replayInTransaction(tx, deps.games, sessionId, { to: target.sequence });
    const r = await tx.query(
      `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (session_id, sequence) DO NOTHING`,
      [
        uuidv7(),
        tenantId,
        replay.sessionId,
        replay.sequence,
        replay.rulesVersion,
        JSON.stringify(replay.state),
        Buffer.from(replay.stateHash, 'hex'),
        target.reason,
      ],
    );
    return { sequence: replay.sequence, stateHash: replay.stateHash, created: r.rowCount === 1 };
  });
}
