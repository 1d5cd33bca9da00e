// The imported session's events, in the caller's transaction, after its session row. Invariants:
// sequences are 1..n; every row carries the session row's tenant, id and server_time; the import
// fails (and so stores nothing) unless exactly n rows were written.
//
// COPY FROM is refused on a table with row-level security for a role subject to it, and an
// INSERT ... SELECT costs as much again as the COPY. So, where `insertSessionRow` found the month
// partition usable, the rows are copied straight into it, as the login, which owns it (a
// partition has no row-level security of its own and agate_app has no grant on it). The COPY's
// WHERE clause is the tenant policy's own predicate plus the session just inserted under that
// policy, both read from transaction-local settings (`app.tenant_id`, `agate.import_session`):
// PostgreSQL drops any other row, and the row count check turns a dropped row into a rollback,
// so no row of another tenant or another session can be committed by this path. Anywhere else
// (no such partition, no privilege, the embedded database, which cannot stream COPY) the rows
// are inserted as agate_app from JSON chunks and row-level security checks each.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { fromPgError } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { copyRows, eventColumns, importWriter } from './copy-rows.js';
import { jsonChunks } from './event-rows.js';
import type { InsertedSession } from './insert-session-row.js';
import type { PreparedSession } from './prepare-session.js';

const guard = `WHERE tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
  AND session_id = nullif(current_setting('agate.import_session', true), '')::uuid`;

/** Parameters: session id, rows (JSON array, `jsonChunks`). */
const insertChunkSql = `
  INSERT INTO game.events (${eventColumns})
  SELECT x.event_id, s.tenant_id, s.id, x.sequence, x.event_type, x.event_version, x.event_data,
         x.client_time, s.last_event_at, x.hash, '${importWriter}'
    FROM game.sessions s
   CROSS JOIN jsonb_to_recordset($2::jsonb) AS x(event_id uuid, sequence bigint, event_type text,
     event_version integer, event_data jsonb, client_time timestamptz, hash bytea)
   WHERE s.id = $1::uuid`;

/**
 * Copies COPY BINARY data (`copyRows`' columns) into `partition` (a regclass name from the
 * catalog, never from input) as the login, keeping only rows of the transaction's tenant and
 * import session; returns how many it kept.
 */
export async function copyEventRows(
  tx: PoolClient,
  partition: string,
  chunks: Iterable<Buffer>,
): Promise<number> {
  const copy = copyFrom(
    `SET LOCAL ROLE NONE; COPY ${partition} (${eventColumns}) FROM STDIN (FORMAT binary) ${guard}`,
  );
  try {
    await pipeline(Readable.from(chunks), tx.query(copy));
  } catch (error) {
    throw fromPgError(error);
  }
  return copy.rowCount;
}

async function insertEventRows(tx: PoolClient, session: PreparedSession): Promise<number> {
  let written = 0;
  for (const chunk of jsonChunks(session.events, session.hashes)) {
    const r = await tx.query(insertChunkSql, [session.identity.id, chunk]);
    written += r.rowCount ?? 0;
  }
  return written;
}

/** The embedded database (PGlite) runs plain queries only: no COPY stream. */
function streamsCopy(pool: Pool): boolean {
  return !('pglite' in pool);
}

/** Writes the events of `session`, whose row `row` is; throws unless all of them were written. */
export async function writeEvents(
  pool: Pool,
  tx: PoolClient,
  session: PreparedSession,
  row: InsertedSession,
): Promise<void> {
  const written =
    row.partition !== null && streamsCopy(pool)
      ? await copyEventRows(tx, row.partition, copyRows(session.events, session.hashes, row))
      : await insertEventRows(tx, session);
  if (written !== session.events.length) {
    throw new AgateError(
      'internal',
      `The import wrote ${written} of ${session.events.length} events; nothing of the session was kept.`,
    );
  }
}
