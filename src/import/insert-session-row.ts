// The imported session's row and its snapshots, as agate_app under row-level security, in the
// caller's transaction (`withTenant`). Invariants: last_sequence and head_hash are the chain's end;
// first_event_at = last_event_at = server_time of every event (clock_timestamp(), so the current
// month's partition, as for appends); the snapshots are written by the same statement or not at
// all. It also names where the events can be copied (see `copyTarget`) and records the session id
// in `agate.import_session` (transaction-local) for the copy's guard.
import type { PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { importWriter } from './copy-rows.js';
import { snapshotsJson } from './event-rows.js';
import type { PreparedSession } from './prepare-session.js';

/**
 * The month partition of game.events that holds `at`, if the events may be copied straight into
 * it: it is a partition of game.events (named as both partition backends name them), it has no
 * row-level security of its own (COPY FROM would refuse it), and the login (the role `SET ROLE
 * NONE` returns to, which owns the partitions when it ran the migrations) may insert into it.
 * Otherwise NULL, and the events go through an INSERT as agate_app.
 */
const copyTarget = `
  (SELECT c.oid::regclass::text
     FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
    WHERE c.oid = to_regclass(format('game.events_p%s', to_char(s.last_event_at AT TIME ZONE 'UTC', 'YYYY_MM')))
      AND i.inhparent = 'game.events'::regclass
      AND NOT c.relrowsecurity
      AND has_table_privilege(session_user, c.oid, 'INSERT'))`;

/**
 * Parameters: id, tenant, player, rules, rules version, seed, config, status, last sequence, head
 * hash (hex), snapshots (JSON), root hash (hex), writer, seed secret (hex). The secret goes to
 * game.session_secrets, which agate_app may insert into and never read.
 */
const insertSql = `
  WITH t AS (SELECT clock_timestamp() AS at),
  s AS (
    INSERT INTO game.sessions (id, tenant_id, player_id, rules, rules_version, seed, config, status,
                               last_sequence, head_hash, first_event_at, last_event_at, ended_at,
                               updated_at, root_hash, written_by)
    SELECT $1::uuid, $2::uuid, $3::uuid, $4::text, $5::integer, $6::text, $7::jsonb, $8::text,
           $9::bigint, decode($10::text, 'hex'), t.at, t.at,
           CASE WHEN $8::text = 'ended' THEN t.at END, t.at, decode($12::text, 'hex'), $13::text
      FROM t
    RETURNING id, tenant_id, last_event_at
  ),
  k AS (
    INSERT INTO game.session_secrets (session_id, tenant_id, secret)
    SELECT s.id, s.tenant_id, decode($14::text, 'hex') FROM s
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
  SELECT s.tenant_id::text AS "tenantId", s.id::text AS "sessionId",
         (extract(epoch FROM s.last_event_at) * 1000000)::bigint::text AS "serverTimeMicros",
         (SELECT count(*) FROM n)::integer AS snapshots,
         ${copyTarget} AS partition,
         set_config('agate.import_session', s.id::text, true) AS guard
    FROM s`;

/** What the session row got, for its events. */
export type InsertedSession = {
  tenantId: string;
  sessionId: string;
  /** server_time as microseconds since the Unix epoch (text of an integer). */
  serverTimeMicros: string;
  snapshots: number;
  /** The month partition the events may be copied into (regclass text), or null. */
  partition: string | null;
};

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
    session.rootHash,
    importWriter,
    session.secret.toString('hex'),
  ];
}

/** Runs in the caller's transaction as agate_app with `app.tenant_id` set. */
export async function insertSessionRow(
  tx: PoolClient,
  session: PreparedSession,
): Promise<InsertedSession> {
  const r = await tx.query<InsertedSession>(insertSql, insertParams(session));
  const row = r.rows[0];
  if (row === undefined) {
    throw new AgateError('internal', 'The session insert returned no row; nothing was stored.');
  }
  return row;
}
