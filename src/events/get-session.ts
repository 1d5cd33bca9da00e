import { AgateError } from '../errors/index.js';
import { isUuid, requireTenantId, withTenant } from '../db/index.js';
import type { sessions } from '../db/index.js';
import type { PoolClient, TenantRole } from '../db/index.js';
import { toSession } from './session.js';
import type { Session } from './session.js';
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

/** A game.sessions row as Drizzle names its columns. */
export type SessionRow = typeof sessions.$inferSelect;

/**
 * Every column of game.sessions aliased `s`, under the names Drizzle gives them, for hand-written
 * reads on hot paths (Drizzle builds its SQL again on every call, a visible share of a current
 * state read's CPU). `toSession` of such a row is the session.
 */
export const sessionColumns = `
  s.id, s.tenant_id AS "tenantId", s.player_id AS "playerId", s.rules,
  s.rules_version AS "rulesVersion", s.seed, s.config, s.status,
  s.last_sequence AS "lastSequence", s.head_hash AS "headHash", s.root_hash AS "rootHash",
  s.first_event_at AS "firstEventAt", s.last_event_at AS "lastEventAt", s.ended_at AS "endedAt",
  s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.written_by AS "writtenBy"`;

/** The session in the caller's transaction (which sets the tenant), or undefined. */
export async function selectSession(
  tx: PoolClient,
  sessionId: string,
): Promise<Session | undefined> {
  const result = await tx.query<SessionRow>(
    `SELECT ${sessionColumns} FROM game.sessions s WHERE s.id = $1`,
    [sessionId],
  );
  const row = result.rows[0];
  return row && toSession(row);
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
