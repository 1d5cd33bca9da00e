import { AgateError } from '../errors/index.js';
import { isUuid, requireTenantId, withTenant } from '../db/index.js';
import type { TenantRole } from '../db/index.js';
import type { Session } from './session.js';
import { selectSession } from './sessions.queries.js';
import type { StoreDeps } from './store-deps.js';

export type SessionRef = { tenantId: string; sessionId: string; role?: TenantRole };

export function notFound(sessionId: string): AgateError {
  return new AgateError(
    'session_not_found',
    `Session ${sessionId} does not exist in this tenant; check the id and the API key's tenant.`,
  );
}

/** Checks the tenant and the session id; a malformed session id is reported as not found. */
export function checkRef(ref: SessionRef): { tenantId: string; sessionId: string } {
  const tenantId = requireTenantId(ref.tenantId);
  if (!isUuid(ref.sessionId)) throw notFound(String(ref.sessionId));
  return { tenantId, sessionId: ref.sessionId.toLowerCase() };
}

/** The session as its tenant sees it; `session_not_found` for a missing or foreign one. */
export async function getSession(deps: Pick<StoreDeps, 'pool'>, ref: SessionRef): Promise<Session> {
  const { tenantId, sessionId } = checkRef(ref);
  const session = await withTenant(deps.pool, { tenantId, role: ref.role }, (tx) =>
    selectSession(tx, sessionId),
  );
  if (session === undefined) throw notFound(sessionId);
  return session;
}
