// What a consumer needs to check the first event it receives of a session (ADR 0022): the
// predecessor that the feed says came before it (its position and chain hash), or, for a
// session's first event, the session's identity (the root of its chain). Runs in the caller's
// tenant transaction (RLS); one statement for all predecessors, one for all roots, each a probe
// of a primary key per session (game.events and archive.events, every month).
import type { PoolClient } from '../db/index.js';
import type { FeedPosition } from './feed-position.js';

export type FeedLink = {
  sessionId: string;
  sequence: number;
  position: FeedPosition;
  hash: string;
};

export type SessionChainRoot = {
  sessionId: string;
  tenantId: string;
  seed: string;
  rules: string;
  rulesVersion: number;
};

/** The stored events at these (session, sequence) pairs; a pair with no event is left out. */
export async function selectFeedLinks(
  tx: PoolClient,
  links: readonly { sessionId: string; sequence: number }[],
): Promise<FeedLink[]> {
  if (links.length === 0) return [];
  const r = await tx.query<{ session_id: string; sequence: number; tx: string; hash: Buffer }>(
    `SELECT w.session_id, w.sequence, e.tx, e.hash
       FROM unnest($1::uuid[], $2::bigint[]) AS w(session_id, sequence)
       CROSS JOIN LATERAL (
             (SELECT transaction_id::text AS tx, hash FROM game.events
               WHERE session_id = w.session_id AND sequence = w.sequence)
             UNION ALL
             (SELECT transaction_id::text AS tx, hash FROM archive.events
               WHERE session_id = w.session_id AND sequence = w.sequence)
             LIMIT 1) AS e`,
    [links.map((l) => l.sessionId), links.map((l) => l.sequence)],
  );
  return r.rows.map((row) => ({
    sessionId: row.session_id,
    sequence: Number(row.sequence),
    position: { transactionId: row.tx, sessionId: row.session_id, sequence: Number(row.sequence) },
    hash: row.hash.toString('hex'),
  }));
}

/** The identity of these sessions, from which their chains start. */
export async function selectSessionChainRoots(
  tx: PoolClient,
  sessionIds: readonly string[],
): Promise<SessionChainRoot[]> {
  if (sessionIds.length === 0) return [];
  const r = await tx.query<SessionChainRoot>(
    `SELECT id AS "sessionId", tenant_id AS "tenantId", seed, rules, rules_version AS "rulesVersion"
       FROM game.sessions WHERE id = ANY($1::uuid[])`,
    [sessionIds],
  );
  return r.rows;
}
