// What the nightly audit reads of a batch of one tenant's sessions, in one round trip
// (`selectAuditSessions`), in the caller's transaction in that tenant (RLS applies). Invariant:
// each session comes with at most `firstPageSize` events; the rest of a long session is left to
// the tail reader.
import type { PoolClient } from '../../db/index.js';
import { selectAuditSessions } from '../../events/index.js';
import type { AuditSession } from '../../events/index.js';

/** Events per session read with the batch; a longer session reads the rest page by page. */
export const firstPageSize = 200;

/**
 * The sessions of `batch` this tenant has, each from its `after` sequence (0: genesis), by id;
 * `since` is the last completed audit's mark (null: none).
 */
export async function loadAuditSessions(
  tx: PoolClient,
  batch: readonly { sessionId: string; after: number }[],
  since: Date | null,
): Promise<Map<string, AuditSession>> {
  return selectAuditSessions(tx, batch, since, firstPageSize);
}

/** One session from genesis. */
export async function loadAuditSession(
  tx: PoolClient,
  sessionId: string,
): Promise<AuditSession | undefined> {
  return (await loadAuditSessions(tx, [{ sessionId, after: 0 }], null)).get(sessionId);
}
