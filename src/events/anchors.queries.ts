// The nightly job's anchors: the head hash of a session's chain at a sequence, recorded as an
// `anchor.recorded` entry of the audit log. The only module that holds their SQL. Invariants: an
// anchor is read from the live months (admin.audit_log) and the archived ones (archive.audit_log),
// so retention never hides one; recording is idempotent per session and sequence; only a head the
// nightly audit verified up to the session's last sequence is anchored. Runs in the caller's
// transaction: reads under its tenant (RLS), recording as agate_maintenance (every tenant).
import { uuidv7 } from 'uuidv7';
import type { PoolClient } from '../db/index.js';

export type Anchor = { sequence: number; headHash: string };

/**
 * The anchors of one session, as a JSON array of [sequence, headHash] text pairs, for a
 * round trip that reads them with other rows (`s` is the session); `anchorsOf` parses it.
 */
export function anchorPairsJson(session: string): string {
  return `(SELECT json_agg(json_build_array(a.details->>'sequence', a.details->>'headHash'))
            FROM admin.audit_log a
           WHERE a.action = 'anchor.recorded' AND a.subject = ${session}.id::text)`;
}

export function anchorsOf(pairs: readonly [string, string][] | null): Anchor[] {
  return (pairs ?? []).map(([sequence, headHash]) => ({ sequence: Number(sequence), headHash }));
}

/** The head hashes the nightly job recorded for this session, live months and archived ones. */
export async function listAnchors(tx: PoolClient, sessionId: string): Promise<Anchor[]> {
  const r = await tx.query<{ sequence: string; head: string }>(
    `SELECT details->>'sequence' AS sequence, details->>'headHash' AS head FROM admin.audit_log
      WHERE action = 'anchor.recorded' AND subject = $1
     UNION ALL
     SELECT details->>'sequence', details->>'headHash' FROM archive.audit_log
      WHERE action = 'anchor.recorded' AND subject = $1`,
    [sessionId],
  );
  return r.rows.map((row) => ({ sequence: Number(row.sequence), headHash: row.head }));
}

/**
 * Records the head hash of the next sessions (by id, after `page.after`, at most `page.limit`)
 * that moved since their last anchor, each as an `anchor.recorded` audit entry in its tenant; a
 * session whose head is already anchored at its current sequence gets none, so reruns add
 * nothing. Only a head the audit verified up to the session's last sequence is anchored: an
 * anchor never vouches for a chain found diverging (or moved since the audit; the next night
 * anchors it). Paged so that each write transaction stays short: a write transaction holds every
 * tenant's feed back while it is open (ADR 0021). Returns how many were recorded and the last
 * session id of the page (null when the page was empty: no more to record).
 */
export async function recordAnchors(
  tx: PoolClient,
  runId: string,
  boundary: Date,
  page: { after: string | null; limit: number },
): Promise<{ recorded: number; last: string | null }> {
  const moved = await tx.query<{
    id: string;
    tenant_id: string;
    last_sequence: number;
    head: string;
  }>(
    `SELECT s.id, s.tenant_id, s.last_sequence, encode(s.head_hash, 'hex') AS head
       FROM game.sessions s
       JOIN admin.session_audits v ON v.session_id = s.id AND v.verified_sequence = s.last_sequence
      WHERE s.last_sequence > 0
        AND ($1::uuid IS NULL OR s.id > $1::uuid)
        AND NOT EXISTS (SELECT 1 FROM admin.audit_log a
                         WHERE a.action = 'anchor.recorded' AND a.subject = s.id::text
                           AND a.details->>'sequence' = s.last_sequence::text)
      ORDER BY s.id
      LIMIT $2`,
    [page.after, page.limit],
  );
  const last = moved.rows.at(-1)?.id ?? null;
  if (last === null) return { recorded: 0, last };
  const details = moved.rows.map((s) =>
    JSON.stringify({
      sequence: s.last_sequence,
      headHash: s.head,
      boundary: boundary.toISOString(),
      runId,
    }),
  );
  await tx.query(
    `INSERT INTO admin.audit_log (id, tenant_id, actor, action, subject, details)
     SELECT id, tenant_id, 'nightly', 'anchor.recorded', subject, details
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[]) AS u(id, tenant_id, subject, details)`,
    [
      moved.rows.map(() => uuidv7()),
      moved.rows.map((s) => s.tenant_id),
      moved.rows.map((s) => s.id),
      details,
    ],
  );
  return { recorded: moved.rows.length, last };
}
