// The tenant export's reads of game.sessions, game.events (with archive.events) and
// game.snapshots: whole rows as JSON, a page at a time in key order, for `agate tenants export`.
// Invariants: every statement runs in the caller's transaction under the tenant's context (RLS
// keeps other tenants' rows out; the tenant id is also a condition where it is the index's lead);
// the transaction sets TimeZone to UTC, so timestamps print as ISO 8601 in UTC with microseconds;
// bytea columns are hex; pages are keyset-paginated on each table's key, never OFFSET; nothing is
// written.
import type { PoolClient } from '../db/index.js';

/** One exported row (columns by their SQL names) and the key it was read at. */
export type ExportedSessionRow = { id: string; lastSequence: number; row: Record<string, unknown> };

const sessionPage = `
  SELECT s.id, s.last_sequence,
         to_jsonb(s) || jsonb_build_object(
           'head_hash', encode(s.head_hash, 'hex'),
           'root_hash', encode(s.root_hash, 'hex')) AS row
    FROM game.sessions s
   WHERE s.tenant_id = $1 AND s.id > $2::uuid
   ORDER BY s.id
   LIMIT $3`;

/** The tenant's sessions after `after` (a session id), by id. */
export async function selectSessionRows(
  tx: PoolClient,
  tenantId: string,
  after: string,
  limit: number,
): Promise<ExportedSessionRow[]> {
  const r = await tx.query<{ id: string; last_sequence: number; row: Record<string, unknown> }>(
    sessionPage,
    [tenantId, after, limit],
  );
  return r.rows.map((x) => ({ id: x.id, lastSequence: Number(x.last_sequence), row: x.row }));
}

const eventBranch = (table: string) => `
  SELECT e.sequence,
         to_jsonb(e) || jsonb_build_object('hash', encode(e.hash, 'hex')) AS row
    FROM ${table} e
   WHERE e.session_id = $1 AND e.sequence > $2 AND e.sequence <= $3
   ORDER BY e.sequence
   LIMIT $4`;
const eventPage = `(${eventBranch('game.events')})
  UNION ALL (${eventBranch('archive.events')})
  ORDER BY sequence
  LIMIT $4`;

/**
 * The session's events with sequences in (`after`, `to`], from live and archived months, by
 * sequence. The caller checks that they follow on without a gap.
 */
export async function selectEventRows(
  tx: PoolClient,
  input: { sessionId: string; after: number; to: number; limit: number },
): Promise<{ sequence: number; row: Record<string, unknown> }[]> {
  const r = await tx.query<{ sequence: number; row: Record<string, unknown> }>(eventPage, [
    input.sessionId,
    input.after,
    input.to,
    input.limit,
  ]);
  return r.rows.map((x) => ({ sequence: Number(x.sequence), row: x.row }));
}

const snapshotPage = `
  SELECT s.session_id, s.sequence,
         to_jsonb(s) || jsonb_build_object('state_hash', encode(s.state_hash, 'hex')) AS row
    FROM game.snapshots s
   WHERE s.tenant_id = $1 AND (s.session_id, s.sequence) > ($2::uuid, $3::bigint)
   ORDER BY s.session_id, s.sequence
   LIMIT $4`;

/** The tenant's snapshots after (`after.sessionId`, `after.sequence`), by session then sequence. */
export async function selectSnapshotRows(
  tx: PoolClient,
  tenantId: string,
  after: { sessionId: string; sequence: number },
  limit: number,
): Promise<{ sessionId: string; sequence: number; row: Record<string, unknown> }[]> {
  const r = await tx.query<{ session_id: string; sequence: number; row: Record<string, unknown> }>(
    snapshotPage,
    [tenantId, after.sessionId, after.sequence, limit],
  );
  return r.rows.map((x) => ({
    sessionId: x.session_id,
    sequence: Number(x.sequence),
    row: x.row,
  }));
}
