import { recordAudit } from '../src/db/index.js';
import type { Pool } from '../src/db/index.js';
import type { ReplayResult } from './replay-session.js';

export type ReplayedAudit = {
  tenantId: string;
  /** An API key's id, or `cli`. */
  actor: string;
  /** The options the replay was asked with, as the caller received them. */
  query: Record<string, unknown>;
  result: ReplayResult;
};

/**
 * The audit entry of a replay (`session.replayed`: the query and the outcome, no state), written
 * before the answer leaves, so no replay result is handed out unrecorded.
 */
export function recordReplayed(pool: Pool, entry: ReplayedAudit): Promise<void> {
  const { result } = entry;
  return recordAudit(pool, {
    tenantId: entry.tenantId,
    actor: entry.actor,
    action: 'session.replayed',
    subject: result.sessionId,
    details: {
      query: entry.query,
      sequence: result.sequence,
      stateHash: result.stateHash,
      verified: result.verified,
      divergences: result.divergences.length,
    },
  });
}
