import { withTenant } from '../db/index.js';
import { checkRef, insertSnapshot } from '../events/index.js';
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
    const created = await insertSnapshot(tx, {
      tenantId,
      sessionId: replay.sessionId,
      sequence: replay.sequence,
      rulesVersion: replay.rulesVersion,
      state: replay.state,
      stateHash: replay.stateHash,
      reason: target.reason,
    });
    return { sequence: replay.sequence, stateHash: replay.stateHash, created };
  });
}
