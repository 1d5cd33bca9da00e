import { uuidv7 } from 'uuidv7';
import type { PoolClient } from '../../db/index.js';
import type { SnapshotTarget } from '../../snapshots/index.js';

/**
 * The nightly job's cross-tenant queries. They run as agate_maintenance (BYPASSRLS), the only
 * role allowed to enumerate every tenant's sessions; the work on each session then runs in its
 * tenant's context.
 */
export async function dayBoundaryTargets(
  tx: PoolClient,
  boundary: Date,
): Promise<SnapshotTarget[]> {
  const r = await tx.query<{ session_id: string; tenant_id: string; target: number }>(
    `SELECT s.id AS session_id, s.tenant_id, t.target
       FROM game.sessions s
       CROSS JOIN LATERAL (
         SELECT max(e.sequence) AS target FROM game.events e
          WHERE e.session_id = s.id AND e.server_time >= s.first_event_at AND e.server_time < $1) t
      WHERE s.first_event_at < $1 AND t.target IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence >= t.target)
      ORDER BY s.id`,
    [boundary],
  );
  return r.rows.map((row) => ({
    tenantId: row.tenant_id,
    sessionId: row.session_id,
    sequence: row.target,
    reason: 'day_boundary',
  }));
}

/** Interval snapshots (every 50th sequence) that a crash between commit and snapshot left out. */
export async function missingIntervalTargets(
  tx: PoolClient,
  interval: number,
): Promise<SnapshotTarget[]> {
  const r = await tx.query<{ session_id: string; tenant_id: string; sequence: number }>(
    `SELECT s.id AS session_id, s.tenant_id, g.sequence
       FROM game.sessions s CROSS JOIN LATERAL generate_series($1::bigint, s.last_sequence, $1::bigint) AS g(sequence)
      WHERE s.last_sequence >= $1
        AND NOT EXISTS (SELECT 1 FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence = g.sequence)
      ORDER BY s.id, g.sequence`,
    [interval],
  );
  return r.rows.map((row) => ({
    tenantId: row.tenant_id,
    sessionId: row.session_id,
    sequence: row.sequence,
    reason: 'interval',
  }));
}

/**
 * Records the head hash of every session that moved since its last anchor, as an
 * `anchor.recorded` audit entry in its tenant; a session whose head is already anchored at its
 * current sequence gets none, so reruns add nothing. Only a head the audit verified up to the
 * session's last sequence is anchored: an anchor never vouches for a chain found diverging (or
 * moved since the audit; the next night anchors it). Returns how many were recorded.
 */
export async function recordAnchors(
  tx: PoolClient,
  runId: string,
  boundary: Date,
): Promise<number> {
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
        AND NOT EXISTS (SELECT 1 FROM admin.audit_log a
                         WHERE a.action = 'anchor.recorded' AND a.subject = s.id::text
                           AND a.details->>'sequence' = s.last_sequence::text)`,
  );
  if (moved.rows.length === 0) return 0;
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
  return moved.rows.length;
}
