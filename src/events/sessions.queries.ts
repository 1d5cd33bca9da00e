// The reads of game.sessions: the only module that holds their SQL, with the round trip that
// reads a session with its newest snapshot and first events (the replay start); the nightly
// audit's reads of sessions are in `audit-sessions.queries.ts`. Invariants: every read runs in the caller's transaction, under its
// tenant (RLS), so another tenant's session reads as absent (but `selectSessionHead`: one
// statement of a function that answers for the tenant given only); a session is read by id; the events
// are read as `events.queries.ts` reads them (live and archived months, by (session_id, sequence)
// within the session's server_time bounds, in sequence order).
import { fromPgError } from '../db/index.js';
import type { Pool, PoolClient, sessions } from '../db/index.js';

import { storedEvents, tailEventsOf, tailRowJson } from './events.queries.js';
import type { TailEvent, TailRow } from './events.queries.js';
import { boundsOf } from './event-bounds.js';
import type { EventBounds } from './event-bounds.js';
import { toSession } from './session.js';
import type { Session } from './session.js';
import type { StoredSnapshot } from './snapshots.queries.js';

/** A game.sessions row as Drizzle names its columns. */
export type SessionRow = typeof sessions.$inferSelect;

/**
 * Every column of game.sessions aliased `s`, under the names Drizzle gives them, for hand-written
 * reads on hot paths (Drizzle builds its SQL again on every call, a visible share of a current
 * state read's CPU). `toSession` of such a row is the session. Exported for its unit test only.
 */
export const sessionColumns = `
  s.id, s.tenant_id AS "tenantId", s.player_id AS "playerId", s.rules,
  s.rules_version AS "rulesVersion", s.seed, s.config, s.status,
  s.last_sequence AS "lastSequence", s.head_hash AS "headHash", s.root_hash AS "rootHash",
  s.first_event_at AS "firstEventAt", s.last_event_at AS "lastEventAt", s.ended_at AS "endedAt",
  s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.written_by AS "writtenBy"`;

/** The session, or undefined. */
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

/**
 * The session of `tenantId`, or undefined, in one autocommit statement outside any transaction
 * (`game.session_head`, migrations/repeatable/game.session_head.sql: it answers for that tenant
 * only): what an append with verdicts compares its recent state with.
 */
export async function selectSessionHead(
  pool: Pool,
  tenantId: string,
  sessionId: string,
): Promise<Session | undefined> {
  try {
    const result = await pool.query<SessionRow>(
      `SELECT ${sessionColumns} FROM game.session_head($1, $2) s`,
      [tenantId, sessionId],
    );
    const row = result.rows[0];
    return row && toSession(row);
  } catch (error) {
    throw fromPgError(error);
  }
}

/** Where the session's events are (`boundsOf` its row), or undefined. */
export async function selectSessionBounds(
  tx: PoolClient,
  sessionId: string,
): Promise<EventBounds | undefined> {
  const result = await tx.query<{
    last_sequence: number;
    first_event_at: Date | null;
    last_event_at: Date | null;
  }>('SELECT last_sequence, first_event_at, last_event_at FROM game.sessions WHERE id = $1', [
    sessionId,
  ]);
  const row = result.rows[0];
  return (
    row &&
    boundsOf({
      lastSequence: row.last_sequence,
      firstEventAt: row.first_event_at,
      lastEventAt: row.last_event_at,
    })
  );
}

/** How many sessions the player has. */
export async function countPlayerSessions(tx: PoolClient, playerId: string): Promise<number> {
  const r = await tx.query<{ n: number }>(
    'SELECT count(*)::integer AS n FROM game.sessions WHERE player_id = $1',
    [playerId],
  );
  return r.rows[0]?.n ?? 0;
}

/** The ids of the player's sessions after `after`, in id order, at most `limit`. */
export async function listPlayerSessionIds(
  tx: PoolClient,
  playerId: string,
  after: string,
  limit: number,
): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `SELECT id FROM game.sessions WHERE player_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
    [playerId, after, limit],
  );
  return r.rows.map((row) => row.id);
}

/** The ids of the tenant's ended sessions of these rules, in id order. */
export async function listEndedSessionIds(tx: PoolClient, rules: string): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `SELECT id FROM game.sessions WHERE rules = $1 AND status = 'ended' ORDER BY id`,
    [rules],
  );
  return r.rows.map((row) => row.id);
}

/**
 * The newest snapshot replay could start from, with its state, the chain hash at it and the
 * first page of the events after it.
 */
export type SnapshotCandidate = StoredSnapshot & {
  state: unknown;
  /** The chain hash of the event at the snapshot's sequence (undefined if there is none). */
  chainHash: Buffer | undefined;
  /** The events after the snapshot, up to the target, at most a page of them. */
  tail: TailEvent[];
};

export type SessionStart = { session: Session; newest: SnapshotCandidate | null };

type StartRow = SessionRow & {
  snap_sequence: number | null;
  snap_rules_version: number;
  snap_state: unknown;
  snap_state_hash: Buffer;
  snap_reason: string;
  snap_created_at: Date;
  snap_chain_hash: Buffer | null;
  snap_tail: TailRow[] | null;
};

/**
 * Parameters: session, target sequence (null: the last), page size. In one round trip: the
 * session row; its newest snapshot of the session's rules version at or below the target
 * (sequence 0 never counts); the chain hash of the event at that snapshot's sequence; and the
 * first page of the events after it, as `selectTailPage` would read it. The page's upper bound is
 * worked out in the lateral join so that both bounds are index conditions: at most a page of
 * rows is read whatever the plan. Every table is read through (session_id, sequence) keys;
 * events from live and archived months (`storedEvents`), whose time bounds prune partitions at
 * run time.
 */
const startQuery = `
  SELECT ${sessionColumns},
         snap.sequence AS snap_sequence, snap.rules_version AS snap_rules_version,
         snap.state AS snap_state, snap.state_hash AS snap_state_hash,
         snap.reason AS snap_reason, snap.created_at AS snap_created_at,
         (SELECT e.hash FROM (${storedEvents(
           'hash',
           `session_id = s.id AND sequence = snap.sequence
            AND server_time >= s.first_event_at AND server_time <= s.last_event_at`,
         )}) AS e)
           AS snap_chain_hash,
         (SELECT json_agg(${tailRowJson('t.')} ORDER BY t.sequence)
            FROM (${storedEvents(
              'event_id, sequence, event_type, event_version, event_data, hash',
              `session_id = s.id AND sequence > snap.sequence AND sequence <= snap.tail_end
               AND server_time >= s.first_event_at AND server_time <= s.last_event_at`,
              'ORDER BY sequence LIMIT $3',
            )}) AS t)
           AS snap_tail
    FROM game.sessions s
    LEFT JOIN LATERAL (
      SELECT sequence, rules_version, state, state_hash, reason, created_at,
             LEAST(COALESCE($2::bigint, s.last_sequence), sequence + $3) AS tail_end
        FROM game.snapshots
       WHERE session_id = s.id AND rules_version = s.rules_version
         AND sequence > 0 AND sequence <= COALESCE($2::bigint, s.last_sequence)
       ORDER BY sequence DESC
       LIMIT 1) AS snap ON true
   WHERE s.id = $1`;

function candidateOf(row: StartRow): SnapshotCandidate | null {
  if (row.snap_sequence === null) return null;
  return {
    sequence: row.snap_sequence,
    rulesVersion: row.snap_rules_version,
    stateHash: row.snap_state_hash.toString('hex'),
    reason: row.snap_reason,
    createdAt: row.snap_created_at,
    state: row.snap_state,
    chainHash: row.snap_chain_hash ?? undefined,
    tail: tailEventsOf(row.snap_tail),
  };
}

/**
 * The session and the snapshot a replay to `to` (default: the last sequence) would start from,
 * with at most `pageSize` events after it; undefined for a session this tenant does not have. A
 * `to` that is not a sequence is read as the last: the caller checks it against the session.
 */
export async function selectSessionStart(
  tx: PoolClient,
  sessionId: string,
  to: number | undefined,
  pageSize: number,
): Promise<SessionStart | undefined> {
  const target = Number.isSafeInteger(to) && (to as number) >= 0 ? to : null;
  const result = await tx.query<StartRow>(startQuery, [sessionId, target, pageSize]);
  const row = result.rows[0];
  return row && { session: toSession(row), newest: candidateOf(row) };
}
