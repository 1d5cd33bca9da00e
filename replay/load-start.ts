import type { PoolClient } from '../src/db/index.js';
import { sessionColumns, storedEvents, toSession } from '../src/events/index.js';
import type { Session, SessionRow } from '../src/events/index.js';
import type { StoredSnapshot } from './load-snapshots.js';
import { tailEventsOf, tailPageSize, tailRowJson } from './read-tail.js';
import type { TailEvent, TailRow } from './read-tail.js';

/**
 * The newest snapshot replay could start from, with its state, the chain hash at it and the
 * first page of the events after it.
 */
export type SnapshotCandidate = StoredSnapshot & {
  state: unknown;
  /** The chain hash of the event at the snapshot's sequence (undefined if there is none). */
  chainHash: Buffer | undefined;
  /** The events after the snapshot, up to the target, at most `tailPageSize` of them. */
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
 * first page of the events after it, as `readTailPages` would read it. The page's upper bound is
 * worked out in the lateral join so that both bounds are index conditions: at most a page of
 * rows is read whatever the plan. Every table is read under the caller's tenant (RLS), through
 * (session_id, sequence) keys; events from live and archived months (`storedEvents`), whose time
 * bounds prune partitions at run time.
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
 * in the caller's transaction; undefined for a session this tenant does not have. A `to` that is
 * not a sequence is read as the last: the caller checks it against the session.
 */
export async function selectSessionStart(
  tx: PoolClient,
  sessionId: string,
  to: number | undefined,
): Promise<SessionStart | undefined> {
  const target = Number.isSafeInteger(to) && (to as number) >= 0 ? to : null;
  const result = await tx.query<StartRow>(startQuery, [sessionId, target, tailPageSize]);
  const row = result.rows[0];
  return row && { session: toSession(row), newest: candidateOf(row) };
}
