// One recorded session into a new session, in one transaction as agate_app in the tenant (RLS on).
// Invariants: COPY FROM is refused on a table with row-level security for a role subject to it, so
// the event rows are copied into a temporary table (no RLS, no WAL) and moved into game.events by
// one INSERT ... SELECT that RLS checks row by row; the session row, every event and the snapshots
// are written by that one statement or not at all; sequences are 1..n; every event of the session
// gets the same server_time, the session's first_event_at = last_event_at (clock_timestamp(), so
// its partition is the current month's); last_sequence and head_hash are the chain's end. The
// embedded database cannot stream COPY: there the rows reach the temporary table by INSERT ...
// jsonb_to_recordset, in chunks, and everything else is the same.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { AgateError } from '../errors/index.js';
import { fromPgError, violatedConstraint, withTenant } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { copyChunks, jsonChunks, snapshotsJson } from './event-rows.js';
import type { PreparedSession } from './prepare-session.js';

// ON COMMIT DELETE ROWS: the table outlives the transaction on its connection (created once, cheap
// to find again) but never its rows; IF NOT EXISTS keeps it right behind a transaction pooler too.
const createTempSql = `
  CREATE TEMP TABLE IF NOT EXISTS agate_import_events (
    event_id uuid NOT NULL, sequence bigint NOT NULL, event_type text NOT NULL,
    event_version integer NOT NULL, event_data jsonb NOT NULL, client_time timestamptz,
    hash bytea NOT NULL
  ) ON COMMIT DELETE ROWS`;

const copySql = 'COPY pg_temp.agate_import_events FROM STDIN';

const insertChunkSql = `
  INSERT INTO pg_temp.agate_import_events
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(event_id uuid, sequence bigint, event_type text,
    event_version integer, event_data jsonb, client_time timestamptz, hash bytea)`;

/** Parameters: id, tenant, player, rules, rules version, seed, config, status, last sequence, head hash (hex), snapshots (JSON). */
const insertSql = `
  WITH t AS (SELECT clock_timestamp() AS at),
  s AS (
    INSERT INTO game.sessions (id, tenant_id, player_id, rules, rules_version, seed, config, status,
                               last_sequence, head_hash, first_event_at, last_event_at, ended_at,
                               updated_at)
    SELECT $1::uuid, $2::uuid, $3::uuid, $4::text, $5::integer, $6::text, $7::jsonb, $8::text,
           $9::bigint, decode($10::text, 'hex'), t.at, t.at,
           CASE WHEN $8::text = 'ended' THEN t.at END, t.at
      FROM t
    RETURNING id, tenant_id, last_event_at
  ),
  e AS (
    INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type, event_version,
                             event_data, client_time, server_time, hash)
    SELECT i.event_id, s.tenant_id, s.id, i.sequence, i.event_type, i.event_version, i.event_data,
           i.client_time, s.last_event_at, i.hash
      FROM pg_temp.agate_import_events i CROSS JOIN s
    RETURNING 1
  ),
  n AS (
    INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state,
                                state_hash, reason)
    SELECT x.id, s.tenant_id, s.id, x.sequence, $5::integer, x.state, decode(x.state_hash, 'hex'),
           x.reason
      FROM jsonb_to_recordset($11::jsonb)
             AS x(id uuid, sequence bigint, state jsonb, state_hash text, reason text)
     CROSS JOIN s
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM e)::integer AS events, (SELECT count(*) FROM n)::integer AS snapshots`;

/** The embedded database (PGlite) runs plain queries only: no COPY stream. */
function streamsCopy(pool: Pool): boolean {
  return !('pglite' in pool);
}

async function loadEvents(pool: Pool, tx: PoolClient, session: PreparedSession): Promise<void> {
  if (!streamsCopy(pool)) {
    for (const chunk of jsonChunks(session.events, session.hashes)) {
      await tx.query(insertChunkSql, [chunk]);
    }
    return;
  }
  try {
    await pipeline(
      Readable.from(copyChunks(session.events, session.hashes)),
      tx.query(copyFrom(copySql)),
    );
  } catch (error) {
    throw fromPgError(error);
  }
}

function insertParams(session: PreparedSession): unknown[] {
  const { identity } = session;
  return [
    identity.id,
    session.tenantId,
    identity.playerId,
    identity.rules.name,
    identity.rules.version,
    identity.seed,
    JSON.stringify(identity.config),
    session.ended ? 'ended' : 'active',
    session.events.length,
    session.headHash,
    snapshotsJson(session.snapshots),
  ];
}

function constraintError(error: unknown, session: PreparedSession): AgateError | undefined {
  switch (violatedConstraint(error)) {
    case 'sessions_tenant_id_tenants_id_fk':
      return new AgateError(
        'tenant_not_found',
        `Tenant ${session.tenantId} does not exist; create it first (agate tenants create).`,
        { cause: error },
      );
    case 'sessions_player_fk':
      return new AgateError(
        'invalid_request',
        `Player ${String(session.identity.playerId)} does not exist in this tenant; create the player first or leave playerId out.`,
        { cause: error },
      );
    case 'sessions_pkey':
      return new AgateError(
        'invalid_request',
        `A session with id ${session.identity.id} already exists; choose another id or leave it out.`,
        { cause: error },
      );
    default:
      return undefined;
  }
}

/** Writes one prepared session in its own transaction; a failure leaves nothing of it behind. */
export async function writeSession(
  pool: Pool,
  session: PreparedSession,
): Promise<{ events: number; snapshots: number }> {
  try {
    return await withTenant(pool, { tenantId: session.tenantId }, async (tx) => {
      await tx.query(createTempSql);
      await loadEvents(pool, tx, session);
      const r = await tx.query<{ events: number; snapshots: number }>(
        insertSql,
        insertParams(session),
      );
      const written = r.rows[0];
      if (written?.events !== session.events.length) {
        throw new AgateError(
          'internal',
          `The import wrote ${written?.events ?? 0} of ${session.events.length} events; nothing of the session was kept.`,
        );
      }
      return written;
    });
  } catch (error) {
    throw constraintError(error, session) ?? error;
  }
}
