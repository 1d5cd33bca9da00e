// The snapshots of one session as its tenant sees them. Invariants: one transaction under the
// tenant (RLS), so another tenant's session is `session_not_found` like a missing one; only the
// snapshots up to the session's last sequence are listed, newest first, without their states.
import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { checkRef, notFound } from './get-session.js';
import type { SessionRef } from './get-session.js';
import { selectSession } from './sessions.queries.js';
import { listSnapshots } from './snapshots.queries.js';
import type { StoredSnapshot } from './snapshots.queries.js';

export async function listSessionSnapshots(
  deps: { pool: Pool },
  ref: SessionRef,
): Promise<StoredSnapshot[]> {
  const { tenantId, sessionId } = checkRef(ref);
  return withTenant(deps.pool, { tenantId, role: ref.role }, async (tx) => {
    const session = await selectSession(tx, sessionId);
    if (session === undefined) throw notFound(sessionId);
    return listSnapshots(tx, session.id, session.lastSequence);
  });
}
