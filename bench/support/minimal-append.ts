// The SQL of the minimal correct append, shared by the in-process rows and the HTTP floor.

/** The same hash on every row: the minimal append computes no chain. */
export const fixedHash = Buffer.alloc(32, 0xab);

/** One INSERT of `batch` events: $1 tenant, $2 session, $3 first sequence, $4 hash, then (id, type, data) per event. */
export function insertSql(batch: number): string {
  const rows = Array.from(
    { length: batch },
    (_, k) =>
      `($${5 + 3 * k}::uuid, $1::uuid, $2::uuid, $3::bigint + ${k}, $${6 + 3 * k}, 1, $${7 + 3 * k}::jsonb, NULL, now(), $4::bytea, 'library')`,
  );
  return `INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type,
    event_version, event_data, client_time, server_time, hash, written_by) VALUES ${rows.join(', ')}`;
}

export const bumpSql =
  'UPDATE game.sessions SET last_sequence = last_sequence + $2 WHERE id = $1 RETURNING last_sequence';
export const advisorySql =
  "SELECT pg_advisory_xact_lock(hashtextextended('agate.append:' || $1::text, 0))";

/**
 * The same events' `analytics.events` rows (no fields): $1 tenant, $2 session, $3 first sequence,
 * then (id, type) per event;
 * the least derived work there is, done in the append's own transaction, no feed read at all.
 */
export function analyticsInsertSql(batch: number): string {
  const rows = Array.from(
    { length: batch },
    (_, k) =>
      `($1::uuid, $2::uuid, $3::bigint + ${k}, $${4 + 2 * k}::uuid, $${5 + 2 * k}, 1, now(), NULL, NULL, 'archive-gate', 1, '{}'::jsonb)`,
  );
  return `INSERT INTO analytics.events (tenant_id, session_id, sequence, event_id, event_type,
    event_version, server_time, client_time, player_id, rules, rules_version, fields)
    VALUES ${rows.join(', ')}`;
}
