// The nightly audit's reads of sessions: which sessions are due (as agate_maintenance, across
// tenants) and, for a batch of one tenant's sessions, everything the audit folds and checks, in
// one round trip (in the tenant's context: RLS applies). The only module that holds this SQL.
// Invariants: a session is due when it has events past its verified sequence or a snapshot
// written since the last audit's mark; the anchors are read as `anchorPairsJson` reads them and
// the first page of events as `selectTailPage` does (by (session_id, sequence), within the
// session's time bounds, in sequence order); the rest of a long session is left to the tail reader.
import type { PoolClient } from '../db/index.js';
import { anchorPairsJson, anchorsOf } from './anchors.queries.js';
import type { Anchor } from './anchors.queries.js';
import { tailEventsOf, tailRowJson } from './events.queries.js';
import type { TailEvent, TailRow } from './events.queries.js';
import type { Session } from './session.js';
import { toSession } from './session.js';
import { sessionColumns } from './sessions.queries.js';
import type { SessionRow } from './sessions.queries.js';
import type { StoredSnapshot } from './snapshots.queries.js';

/** Where the previous audit left a session: the snapshot it verified (0: genesis) and the chain there. */
export type AuditStart = { snapshotSequence: number; chainHash: Buffer; stateHash: string };

/** A session due for an audit, with where its last clean audit stopped (null: genesis). */
export type AuditTarget = { sessionId: string; tenantId: string; start: AuditStart | null };

type TargetRow = {
  id: string;
  tenant_id: string;
  snapshot_sequence: number | null;
  chain_hash: Buffer | null;
  state_hash: string | null;
};

function targetOf(row: TargetRow): AuditTarget {
  const start =
    row.snapshot_sequence === null || row.chain_hash === null || row.state_hash === null
      ? null
      : {
          snapshotSequence: row.snapshot_sequence,
          chainHash: row.chain_hash,
          stateHash: row.state_hash,
        };
  return { sessionId: row.id, tenantId: row.tenant_id, start };
}

/**
 * The incremental audit's work: every session with events past its verified sequence, and every
 * session with a snapshot written since `since` (null: never audited, so every snapshot), in
 * tenant order so that a tenant's sessions are audited in a few transactions.
 */
export async function incrementalTargets(
  tx: PoolClient,
  since: Date | null,
): Promise<AuditTarget[]> {
  const r = await tx.query<TargetRow>(
    `WITH due AS (
       SELECT s.id FROM game.sessions s LEFT JOIN admin.session_audits a ON a.session_id = s.id
        WHERE s.last_sequence > coalesce(a.verified_sequence, 0)
       UNION
       SELECT n.session_id FROM game.snapshots n
        WHERE $1::timestamptz IS NULL OR n.created_at >= $1::timestamptz)
     SELECT s.id, s.tenant_id, a.snapshot_sequence, a.chain_hash, encode(a.state_hash, 'hex') AS state_hash
       FROM due JOIN game.sessions s ON s.id = due.id
       LEFT JOIN admin.session_audits a ON a.session_id = s.id
      ORDER BY s.tenant_id, s.id`,
    [since],
  );
  return r.rows.map(targetOf);
}

/** The next `limit` sessions after `cursor` in id order (null: from the first), for a full check. */
export async function fullVerifyTargets(
  tx: PoolClient,
  cursor: string | null,
  limit: number,
): Promise<AuditTarget[]> {
  const r = await tx.query<TargetRow>(
    `SELECT s.id, s.tenant_id, NULL AS snapshot_sequence, NULL AS chain_hash, NULL AS state_hash
       FROM game.sessions s
      WHERE s.last_sequence > 0 AND ($1::uuid IS NULL OR s.id > $1::uuid)
      ORDER BY s.id LIMIT $2`,
    [cursor, limit],
  );
  return r.rows.map(targetOf);
}

/** Sessions the rolling full verification has not reached in its current pass. */
export async function verifyBacklog(tx: PoolClient): Promise<number> {
  const r = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM game.sessions s
      WHERE s.last_sequence > 0
        AND s.id > coalesce((SELECT verify_cursor FROM admin.nightly_state WHERE id = 'nightly'),
                            '00000000-0000-0000-0000-000000000000'::uuid)`,
  );
  return r.rows[0]?.n ?? 0;
}

/** A snapshot as the audit batch reads it: with its state. */
export type AuditSnapshot = StoredSnapshot & { state: unknown };

/** A session of an audit batch, with what the audit folds and checks from its start. */
export type AuditSession = {
  session: Session;
  /** Its snapshots from the fold's start on, with their states. */
  snapshots: AuditSnapshot[];
  anchors: Anchor[];
  /** The first events after the fold's start, at most the page size. */
  tail: TailEvent[];
  /** A snapshot below the start was written since the last audit: fold from genesis. */
  rewrittenBelow: boolean;
};

type AuditRow = SessionRow & {
  snaps: [number, number, string, string, string, unknown][] | null;
  anchors: [string, string][] | null;
  tail: TailRow[] | null;
  rewritten_below: boolean;
};

/**
 * Parameters: session ids, the fold's start per session, the audit mark, the page size. The
 * anchors are read as `anchorPairsJson` reads them (live months: the audit runs nightly, before
 * retention archives any) and the first page of events as the tail reader does.
 */
const auditQuery = `
  SELECT ${sessionColumns},
         (SELECT json_agg(json_build_array(n.sequence, n.rules_version, encode(n.state_hash, 'hex'),
                                           n.reason, n.created_at, n.state) ORDER BY n.sequence)
            FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence >= w.after) AS snaps,
         ${anchorPairsJson('s')} AS anchors,
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

function auditSessionOf(row: AuditRow): AuditSession {
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
    anchors: anchorsOf(anchors),
    tail: tailEventsOf(tail),
    rewrittenBelow,
  };
}

/**
 * In one round trip, the sessions of `batch` this tenant has, each from its `after` sequence
 * (0: genesis), by id, with at most `pageSize` events each; `since` is the last completed
 * audit's mark (null: none).
 */
export async function selectAuditSessions(
  tx: PoolClient,
  batch: readonly { sessionId: string; after: number }[],
  since: Date | null,
  pageSize: number,
): Promise<Map<string, AuditSession>> {
  const r = await tx.query<AuditRow>(auditQuery, [
    batch.map((b) => b.sessionId),
    batch.map((b) => b.after),
    since,
    pageSize,
  ]);
  return new Map(r.rows.map((row) => [row.id, auditSessionOf(row)]));
}
