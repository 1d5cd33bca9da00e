import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { isUuid, players, requireTenantId, withTenant } from '../db/index.js';
import type { Pool, PoolClient, TenantRole } from '../db/index.js';
import {
  boundsOf,
  listPlayerSessionIds,
  selectCompletePage,
  selectSession,
} from '../events/index.js';
import type { Session, StoredEvent } from '../events/index.js';
import { playerNotFound, toPlayer } from './player.js';
import type { Player } from './player.js';

export type ExportPlayerInput = {
  tenantId: string;
  playerId: string;
  /** Who reads the player, sessions and events (default agate_app); see `exportPlayer`. */
  role?: TenantRole;
};

/** An audit entry about the player (its subject is the player's id). */
export type PlayerAuditEntry = {
  id: string;
  occurredAt: Date;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
};

/** Everything agate holds about one player. */
export type PlayerExport = {
  player: Player;
  /** Every session of the player, by id (creation order for UUIDv7 ids). */
  sessions: Session[];
  /** Every event of those sessions, by session (in `sessions` order) then sequence. */
  events: StoredEvent[];
  /** Oldest first. */
  auditEntries: PlayerAuditEntry[];
};

const pageSize = 1_000;

/** The player's audit entries from live and archived months, each branch ordered and limited. */
const auditPage = (table: string) => `
  SELECT id, occurred_at, occurred_at::text AS cursor, actor, action, subject, details
    FROM ${table}
   WHERE subject = $1 AND (occurred_at, id) > ($2::timestamptz, $3::uuid)
   ORDER BY occurred_at, id
   LIMIT $4`;
const auditQuery = `(${auditPage('admin.audit_log')})
  UNION ALL (${auditPage('archive.audit_log')})
  ORDER BY occurred_at, id
  LIMIT $4`;

type AuditRow = {
  id: string;
  occurred_at: Date;
  /** occurred_at as PostgreSQL prints it: microseconds, which a Date would lose. */
  cursor: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
};

async function sessionsOf(tx: PoolClient, playerId: string): Promise<Session[]> {
  const found: Session[] = [];
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await listPlayerSessionIds(tx, playerId, after, pageSize);
    for (const id of page) {
      const session = await selectSession(tx, id);
      if (session !== undefined) found.push(session);
    }
    const last = page.at(-1);
    if (last === undefined || page.length < pageSize) return found;
    after = last;
  }
}

async function eventsOf(tx: PoolClient, session: Session): Promise<StoredEvent[]> {
  const bounds = boundsOf(session);
  const found: StoredEvent[] = [];
  let after = 0;
  while (after < session.lastSequence) {
    const page = await selectCompletePage(tx, {
      sessionId: session.id,
      bounds,
      after,
      to: session.lastSequence,
      limit: pageSize,
    });
    found.push(...page);
    after = page.at(-1)?.sequence ?? session.lastSequence;
  }
  return found;
}

async function auditEntriesOf(tx: PoolClient, playerId: string): Promise<PlayerAuditEntry[]> {
  const found: PlayerAuditEntry[] = [];
  let after: [string, string] = ['-infinity', '00000000-0000-0000-0000-000000000000'];
  for (;;) {
    const page = await tx.query<AuditRow>(auditQuery, [playerId, ...after, pageSize]);
    for (const row of page.rows) {
      found.push({
        id: row.id,
        occurredAt: row.occurred_at,
        actor: row.actor,
        action: row.action,
        subject: row.subject,
        details: row.details,
      });
    }
    const last = page.rows.at(-1);
    if (last === undefined || page.rows.length < pageSize) return found;
    after = [last.cursor, last.id];
  }
}

/**
 * Everything held about a player of the tenant: the row (PII included), every session of the
 * player, every event of those sessions (read a page at a time, bounded by each session's last
 * sequence and event times, from live and archived months; a session missing an event is
 * `integrity_violation` naming it, never a shorter export), and the audit entries whose subject is the player. The player,
 * sessions and events are read in one transaction as `role`; the audit entries in a second one
 * as agate_app, since agate_analyst has no access to the audit log. `not_found` when the tenant
 * has no such player. Writes nothing (the caller records the export).
 */
export async function exportPlayer(pool: Pool, input: ExportPlayerInput): Promise<PlayerExport> {
  const tenantId = requireTenantId(input.tenantId);
  if (!isUuid(input.playerId)) throw playerNotFound(String(input.playerId));
  const playerId = input.playerId.toLowerCase();
  const held = await withTenant(pool, { tenantId, role: input.role }, async (tx) => {
    const [row] = await drizzle(tx).select().from(players).where(eq(players.id, playerId));
    if (row === undefined) throw playerNotFound(playerId);
    const sessions = await sessionsOf(tx, playerId);
    const events: StoredEvent[] = [];
    for (const session of sessions) events.push(...(await eventsOf(tx, session)));
    return { player: toPlayer(row), sessions, events };
  });
  const auditEntries = await withTenant(pool, { tenantId }, (tx) => auditEntriesOf(tx, playerId));
  return { ...held, auditEntries };
}
