-- Issue 14, items 5, 6 and 11 (ADR 0002, ADR 0013):
-- 1. A retry must be the same request: game.append_events compares a batch whose ids are stored
--    with what the chain recorded (each stored link recomputed from the new content hash, plus
--    client_time) and answers event_id_conflict with the index of the first differing event.
--    game.sessions.root_hash keeps the chain's root so the first event compares the same way.
-- 2. Server-drawn per-event seeds are HMAC-SHA256(per-session secret, event id): the secret lives
--    in game.session_secrets, which no role but its owner may read; game.event_seeds derives
--    seeds for one tenant's session and given ids, never the secret.
-- 3. Who wrote it: game.sessions.written_by and game.events.written_by, outside the chain's
--    content. Rows written before this migration say 'legacy'.
ALTER TABLE game.sessions ADD COLUMN root_hash bytea;
--> statement-breakpoint
-- An empty session's head is its root; a session with events keeps NULL (its first event is
-- compared column by column, see game.append_events).
UPDATE game.sessions SET root_hash = head_hash WHERE last_sequence = 0;
--> statement-breakpoint
ALTER TABLE game.sessions ADD COLUMN written_by text NOT NULL DEFAULT 'legacy';
--> statement-breakpoint
ALTER TABLE game.sessions ALTER COLUMN written_by DROP DEFAULT;
--> statement-breakpoint
-- A constant default is stored in the catalog: no rewrite of the partitions, no row trigger.
ALTER TABLE game.events ADD COLUMN written_by text NOT NULL DEFAULT 'legacy';
--> statement-breakpoint
ALTER TABLE game.events ALTER COLUMN written_by DROP DEFAULT;
--> statement-breakpoint
-- Not in src/db/schema.ts on purpose: no application query reads it; only game.event_seeds does.
CREATE TABLE game.session_secrets (
  session_id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL,
  secret bytea NOT NULL,
  CONSTRAINT session_secrets_length_check CHECK (octet_length(secret) = 32),
  CONSTRAINT session_secrets_session_fk FOREIGN KEY (tenant_id, session_id)
    REFERENCES game.sessions (tenant_id, id)
);
--> statement-breakpoint
-- Sessions created before this migration get a secret now: 2 x 122 random bits from the
-- server's strong random source (gen_random_uuid is built in; pgcrypto is not available).
INSERT INTO game.session_secrets (session_id, tenant_id, secret)
SELECT s.id, s.tenant_id, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
  FROM game.sessions s;
--> statement-breakpoint
ALTER TABLE game.session_secrets ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE game.session_secrets FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON game.session_secrets
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
-- agate_app stores a new session's secret (INSERT without SELECT: it cannot read one back);
-- agate_analyst and agate_maintenance get nothing.
REVOKE ALL ON game.session_secrets FROM PUBLIC;
--> statement-breakpoint
GRANT INSERT ON game.session_secrets TO agate_app;
--> statement-breakpoint
-- The server-drawn seed of each given event id of one session of p_tenant:
-- the first 16 bytes of HMAC-SHA256(secret, the id's 16 bytes), as hex. Runs as the table's
-- owner (SECURITY DEFINER, fixed search_path) and returns seeds only, never the secret; no rows
-- for a session of another tenant or an unknown one. HMAC by hand: sha256 is built in, hmac()
-- needs pgcrypto. The tenant setting is set for the policy and restored before returning.
CREATE FUNCTION game.event_seeds(p_tenant uuid, p_session uuid, p_event_ids uuid[])
RETURNS TABLE (event_id uuid, seed text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $fn$
DECLARE
  v_previous text := current_setting('app.tenant_id', true);
  v_key bytea;
  v_inner bytea;
  v_outer bytea;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  SELECT k.secret || decode(repeat('00', 32), 'hex') INTO v_key
    FROM game.session_secrets k
   WHERE k.session_id = p_session AND k.tenant_id = p_tenant;
  PERFORM set_config('app.tenant_id', coalesce(v_previous, ''), true);
  IF v_key IS NULL THEN
    RETURN;
  END IF;
  v_inner := v_key;
  v_outer := v_key;
  FOR i IN 0..63 LOOP
    v_inner := set_byte(v_inner, i, get_byte(v_key, i) # 54);
    v_outer := set_byte(v_outer, i, get_byte(v_key, i) # 92);
  END LOOP;
  RETURN QUERY
    SELECT x.id, encode(substring(sha256(v_outer || sha256(v_inner || uuid_send(x.id))) FROM 1 FOR 16), 'hex')
      FROM unnest(p_event_ids) AS x(id);
END
$fn$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION game.event_seeds(uuid, uuid, uuid[]) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION game.event_seeds(uuid, uuid, uuid[]) TO agate_app;
--> statement-breakpoint
DROP FUNCTION game.append_events(uuid, uuid, bigint, jsonb, integer);
--> statement-breakpoint
-- The append protocol in one call (ADR 0001, 0011). Invariants, as before: runs as agate_app in
-- p_tenant's context; takes the session row lock before reading anything; sequences are
-- last_sequence+1.. with no gap; hash = sha256(previous hash || int8send(sequence) || content
-- hash); server_time never decreases within a session; minted ids are not probed. New:
-- - a batch with stored ids is a retry only when every id is stored, at consecutive sequences in
--   the batch's order, each with the same client_time and a content hash that recomputes its
--   stored link (sha256(stored hash at sequence-1, or root_hash at 1 || sequence || new content
--   hash) = stored hash). A first event of a session that predates root_hash is compared column
--   by column (type, version, data). Anything else is event_id_conflict with conflict_index, the
--   0-based index of the first event of the batch that differs; nothing is stored.
-- - every row it inserts records p_written_by (the credential; outside the content hash).
CREATE FUNCTION game.append_events(
  p_tenant uuid,
  p_session uuid,
  p_expected bigint,
  p_events jsonb,
  p_lock_timeout_ms integer,
  p_written_by text
) RETURNS TABLE (outcome text, first_sequence bigint, last_sequence bigint, conflict_index integer)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_session game.sessions%ROWTYPE;
  v_count integer := jsonb_array_length(p_events);
  v_dup_count integer;
  v_dup_first bigint;
  v_conflict integer;
  v_time timestamptz;
  v_hash bytea;
  v_hashes bytea[] := ARRAY[]::bytea[];
  v_ends boolean;
BEGIN
  PERFORM set_config('role', 'agate_app', true),
          set_config('app.tenant_id', p_tenant::text, true),
          set_config('lock_timeout', p_lock_timeout_ms::text || 'ms', true);

  SELECT * INTO v_session FROM game.sessions s WHERE s.id = p_session FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'session_not_found'::text, NULL::bigint, NULL::bigint, NULL::integer;
    RETURN;
  END IF;

  IF v_session.last_sequence > 0 AND p_events @? '$[*] ? (!exists(@.minted))' THEN
    SELECT count(*)::integer, min(e.sequence)
      INTO v_dup_count, v_dup_first
      FROM unnest(ARRAY(SELECT (a.j->>'eventId')::uuid
                           FROM jsonb_array_elements(p_events) WITH ORDINALITY AS a(j, n)
                          WHERE NOT a.j ? 'minted'
                          ORDER BY a.n))
             WITH ORDINALITY AS x(id, ord)
      CROSS JOIN LATERAL (
        -- OFFSET 0 keeps this a probe per id (migration 0007).
        SELECT ev.sequence FROM game.events ev
         WHERE ev.session_id = p_session AND ev.event_id = x.id
           AND ev.server_time >= v_session.first_event_at
           AND ev.server_time <= v_session.last_event_at
        OFFSET 0
      ) e;
    IF v_dup_count > 0 THEN
      -- Only for batches with stored ids (retries and conflicts): the first event that is not
      -- where, and what, a faithful retry would find.
      SELECT (min(b.n) - 1)::integer INTO v_conflict
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS b(j, n)
        LEFT JOIN LATERAL (
          SELECT ev.sequence, ev.hash, ev.client_time, ev.event_type, ev.event_version, ev.event_data
            FROM game.events ev
           WHERE NOT b.j ? 'minted'
             AND ev.session_id = p_session AND ev.event_id = (b.j->>'eventId')::uuid
             AND ev.server_time >= v_session.first_event_at
             AND ev.server_time <= v_session.last_event_at
          OFFSET 0
        ) e ON true
        LEFT JOIN LATERAL (
          SELECT pv.hash FROM game.events pv
           WHERE pv.session_id = p_session AND pv.sequence = e.sequence - 1
             AND pv.server_time >= v_session.first_event_at
             AND pv.server_time <= v_session.last_event_at
          OFFSET 0
        ) p ON true
       WHERE e.sequence IS DISTINCT FROM v_dup_first + b.n - 1
          OR e.client_time IS DISTINCT FROM (b.j->>'clientTime')::timestamptz
          OR NOT coalesce(
               e.hash = sha256(CASE WHEN e.sequence = 1 THEN v_session.root_hash ELSE p.hash END
                               || int8send(e.sequence) || decode(b.j->>'contentHash', 'hex')),
               e.event_type = b.j->>'type'
                 AND e.event_version = (b.j->>'version')::integer
                 AND e.event_data = b.j->'data');
      IF v_conflict IS NULL THEN
        RETURN QUERY SELECT 'duplicate'::text, v_dup_first, v_dup_first + v_count - 1, NULL::integer;
      ELSE
        RETURN QUERY SELECT 'event_id_conflict'::text, NULL::bigint, v_session.last_sequence, v_conflict;
      END IF;
      RETURN;
    END IF;
  END IF;

  IF v_session.status <> 'active' THEN
    RETURN QUERY SELECT 'session_ended'::text, NULL::bigint, v_session.last_sequence, NULL::integer;
    RETURN;
  END IF;
  IF p_expected IS NOT NULL AND p_expected <> v_session.last_sequence THEN
    RETURN QUERY SELECT 'sequence_conflict'::text, NULL::bigint, v_session.last_sequence, NULL::integer;
    RETURN;
  END IF;

  -- clock_timestamp(), not now(): now() is the transaction start, which predates the lock wait.
  v_time := greatest(clock_timestamp(), v_session.last_event_at);
  v_hash := v_session.head_hash;
  FOR i IN 1..v_count LOOP
    v_hash := sha256(v_hash || int8send(v_session.last_sequence + i)
                     || decode(p_events->(i - 1)->>'contentHash', 'hex'));
    v_hashes := array_append(v_hashes, v_hash);
  END LOOP;

  INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type, event_version,
                           event_data, client_time, server_time, hash, written_by)
  SELECT (x.item->>'eventId')::uuid, v_session.tenant_id, p_session, v_session.last_sequence + x.ord,
         x.item->>'type', (x.item->>'version')::integer, x.item->'data',
         (x.item->>'clientTime')::timestamptz, v_time, v_hashes[x.ord], p_written_by
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(item, ord);

  v_ends := (p_events->(v_count - 1)->>'type') = 'session.ended';
  UPDATE game.sessions
     SET last_sequence = v_session.last_sequence + v_count,
         head_hash = v_hash,
         first_event_at = coalesce(first_event_at, v_time),
         last_event_at = v_time,
         status = CASE WHEN v_ends THEN 'ended' ELSE status END,
         ended_at = CASE WHEN v_ends THEN v_time ELSE ended_at END,
         updated_at = v_time
   WHERE id = p_session;

  RETURN QUERY SELECT 'appended'::text, v_session.last_sequence + 1, v_session.last_sequence + v_count,
                      NULL::integer;
END
$fn$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION game.append_events(uuid, uuid, bigint, jsonb, integer, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION game.append_events(uuid, uuid, bigint, jsonb, integer, text) TO agate_app;
