// What the nightly audit reads of a batch of one tenant's sessions, in one round trip, in the
// caller's transaction in that tenant (RLS applies). Invariants: the anchors are read as
// `listAnchors` reads them and the first page of events as the tail reader does (by
// (session_id, sequence), within the session's time bounds, in sequence order); the rest of a
// long session is left to the tail reader.
import type { PoolClient } from '../../db/index.js';
import { sessionColumns, toSession } from '../../events/index.js';
import type { Session, SessionRow } from '../../events/index.js';
import { tailEventsOf, tailRowJson } from '../../../replay/index.js';
import type { Anchor, StoredSnapshot, TailEvent, TailRow } from '../../../replay/index.js';

export type SnapshotRow = StoredSnapshot & { state: unknown };

export type LoadedSession = {
  session: Session;
  /** Its snapshots from the fold's start on, with their states. */
  snapshots: SnapshotRow[];
  anchors: Anchor[];
  /** The first events after the fold's start, at most `firstPageSize`. */
  tail: TailEvent[];
  /** A snapshot below the start was written since the last audit: fold from genesis. */
  rewrittenBelow: boolean;
};

/** Events per session read with the batch; a longer session reads the rest page by page. */
export const firstPageSize = 200;

type LoadRow = SessionRow & {
  snaps: [number, number, string, string, string, unknown][] | null;
  anchors: [string, string][] | null;
  tail: TailRow[] | null;
  rewritten_below: boolean;
};

/** Parameters: session ids, the fold's start per session, the audit mark, the page size. */
const loadQuery = `
  SELECT ${sessionColumns},
         (SELECT json_agg(json_build_array(n.sequence, n.rules_version, encode(n.state_hash, 'hex'),
                                           n.reason, n.created_at, n.state) ORDER BY n.sequence)
            FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence >= w.after) AS snaps,
         (SELECT json_agg(json_build_array(a.details->>'sequence', a.details->>'headHash'))
            FROM admin.audit_log a
           WHERE a.action = 'anchor.recorded' AND a.subject = s.id::text) AS anchors,
         (SELECT json_agg(${tailRowJson('t.')} ORDER BY t.sequence)
            FROM (SELECT e.event_id, e.sequence, e.event_type, e.event_version, e.event_data, e.hash
                    FROM game.events e
                   WHERE e.session_id = s.id AND e.sequence > w.after AND e.sequence <= s.last_sequence
                     AND e.server_time >= s.first_event_at AND e.server_time <= s.last_event_at
                   ORDER BY e.sequence LIMIT $4) AS t) AS tail,
         EXISTS (SELECT 1 FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence < w.after
                    AND $3::timestamptz IS NOT NULL AND n.created_at >= $3) AS rewritten_below
    FROM unnest($1::uuid[], $2::bigint[]) AS w(id, after)
    JOIN game.sessions s ON s.id = w.id`;

function loadedOf(row: LoadRow): LoadedSession {
  const { snaps, anchors, tail, rewritten_below: rewrittenBelow, ...sessionRow } = row;
  return {
    session: toSession(sessionRow),
    snapshots: (snaps ?? []).map(([sequence, rulesVersion, hash, reason, createdAt, state]) => ({
      sequence,
      rulesVersion,
      stateHash: hash,
      reason,
      createdAt: new Date(createdAt),
      state,
    })),
    anchors: (anchors ?? []).map(([sequence, headHash]) => ({
      sequence: Number(sequence),
      headHash,
    })),
    tail: tailEventsOf(tail),
    rewrittenBelow,
  };
}

/**
 * The sessions of `batch` this tenant has, each from its `after` sequence (0: genesis), by id;
 * `since` is the last completed audit's mark (null: none).
 */
export async function loadAuditSessions(
  tx: PoolClient,
  batch: readonly { sessionId: string; after: number }[],
  since: Date | null,
): Promise<Map<string, LoadedSession>> {
  const r = await tx.query<LoadRow>(loadQuery, [
    batch.map((b) => b.sessionId),
    batch.map((b) => b.after),
    since,
    firstPageSize,
  ]);
  return new Map(r.rows.map((row) => [row.id, loadedOf(row)]));
}

/** One session from genesis. */
export async function loadAuditSession(
  tx: PoolClient,
  sessionId: string,
): Promise<LoadedSession | undefined> {
  return (await loadAuditSessions(tx, [{ sessionId, after: 0 }], null)).get(sessionId);
}
