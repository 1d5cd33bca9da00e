import { uuidv7 } from 'uuidv7';
import { withTenant } from '../db/index.js';
import { replaySession } from '../../replay/index.js';
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
 * Saves the session's state at exactly `sequence` (replayed from the newest snapshot below it).
 * Idempotent: one snapshot per session and sequence; a second call writes nothing.
 */
export async function writeSnapshot(
  deps: ReplayDeps,
  target: SnapshotTarget,
): Promise<WrittenSnapshot> {
  const replay = await replaySession(deps, {
    tenantId: target.tenantId,
    sessionId: target.sessionId,
    to: target.sequence,
  });
  const session = await deps.store.getSession({
    tenantId: target.tenantId,
    sessionId: target.sessionId,
  });
  const created = await withTenant(deps.pool, { tenantId: target.tenantId }, async (tx) => {
    const r = await tx.query(
      `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (session_id, sequence) DO NOTHING`,
      [
        uuidv7(),
        target.tenantId,
        session.id,
        replay.sequence,
        session.rulesVersion,
        JSON.stringify(replay.state),
        Buffer.from(replay.stateHash, 'hex'),
        target.reason,
      ],
    );
    return r.rowCount === 1;
  });
  return { sequence: replay.sequence, stateHash: replay.stateHash, created };
}
