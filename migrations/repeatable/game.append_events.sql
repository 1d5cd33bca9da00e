-- The current definition of game.append_events: the append protocol in one call (ADR 0001,
-- 0011), called by src/events/append-events.ts. A repeatable file: `agate migrate` reapplies it,
-- after the numbered migrations, whenever its text changes; earlier versions are history in
-- migrations 0001, 0006, 0007 and 0008. CREATE OR REPLACE keeps the owner and the grants; a change
-- of arguments or result columns needs a DROP of the old signature here and the grants again.
--
-- Invariants: runs as agate_app in p_tenant's context whoever the caller is; takes the session
-- row lock before reading anything, so retries racing their original see its commit; nothing is
-- stored unless the session is active and p_expected (when given) equals last_sequence;
-- sequences are last_sequence+1.. with no gap; hash = sha256(previous hash || int8send(sequence)
-- || content hash); server_time never decreases within a session; minted ids are not probed;
-- lookups by event id stay probes of the (session_id, event_id) indexes under generic plans
-- (migration 0007), in the live months and in those retention moved to archive.events, so a
-- retry months late is still a retry. Each element of p_events: {eventId, type, version, data,
-- clientTime, contentHash (hex), minted?}, validated and hashed by the caller.
-- - a batch with stored ids is a retry only when every id is stored, at consecutive sequences in
--   the batch's order, each with the same client_time and a content hash that recomputes its
--   stored link (sha256(stored hash at sequence-1, or root_hash at 1 || sequence || new content
--   hash) = stored hash). A first event of a session that predates root_hash is compared column
--   by column (type, version, data). Anything else is event_id_conflict with conflict_index, the
--   0-based index of the first event of the batch that differs; nothing is stored.
-- - every row it inserts records p_written_by (the credential; outside the content hash).
-- - a session's events get rising transaction ids in sequence order, which the feed's order
--   (transaction_id, session_id, sequence; ADR 0021) needs: a row lock (FOR NO KEY UPDATE) assigns the
--   transaction id before it waits, and waiters are not granted in arrival order (one woken by a
--   commit re-locks the updated row and may be overtaken), so the session is first taken by a
--   transaction-scoped advisory lock, which needs no transaction id; the id is assigned after,
--   so it is newer than that of every earlier append to the session, which ended before the lock
--   was granted. A caller's transaction that already had an id when it called (it wrote before)
--   is refused with AG002 when the session row was last written by a newer transaction: its
--   events would come before their predecessors in the feed.
CREATE OR REPLACE FUNCTION game.append_events(
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
  v_had_id boolean := pg_current_xact_id_if_assigned() IS NOT NULL;
BEGIN
  PERFORM set_config('role', 'agate_app', true),
          set_config('app.tenant_id', p_tenant::text, true),
          set_config('lock_timeout', p_lock_timeout_ms::text || 'ms', true);
  -- A tenant being moved: hold its write fence shared, or wait for the switch (migration 0018).
  PERFORM admin.check_tenant_fence(p_tenant);

  PERFORM pg_advisory_xact_lock(hashtextextended('agate.append:' || p_session::text, 0));
  -- NO KEY UPDATE, the lock the UPDATE below takes anyway (it changes no key): the key-share
  -- locks of foreign-key checks (a consumer's snapshot or analytics row naming the session, held
  -- until that consumer commits) do not make an append wait, as FOR UPDATE would.
  SELECT * INTO v_session FROM game.sessions s WHERE s.id = p_session FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'session_not_found'::text, NULL::bigint, NULL::bigint, NULL::integer;
    RETURN;
  END IF;
  -- The row's xmin against this transaction's id, modulo 2^32 as xids wrap: newer when ahead.
  IF v_had_id AND (SELECT (s.xmin::text::bigint - pg_current_xact_id()::text::bigint % 4294967296
                           + 4294967296) % 4294967296 BETWEEN 1 AND 2147483647
                     FROM game.sessions s WHERE s.id = p_session) THEN
    RAISE EXCEPTION 'session % was appended to by a newer transaction than this one, which wrote before it appended', p_session
      USING ERRCODE = 'AG002';
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
        -- OFFSET 0 keeps this a probe per id (migration 0007); archived months are probed too,
        -- and pruned away at run time when the session has none.
        (SELECT ev.sequence FROM game.events ev
          WHERE ev.session_id = p_session AND ev.event_id = x.id
            AND ev.server_time >= v_session.first_event_at
            AND ev.server_time <= v_session.last_event_at
         OFFSET 0)
        UNION ALL
        (SELECT ev.sequence FROM archive.events ev
          WHERE ev.session_id = p_session AND ev.event_id = x.id
            AND ev.server_time >= v_session.first_event_at
            AND ev.server_time <= v_session.last_event_at
         OFFSET 0)
      ) e;
    IF v_dup_count > 0 THEN
      -- Only for batches with stored ids (retries and conflicts): the first event that is not
      -- where, and what, a faithful retry would find.
      SELECT (min(b.n) - 1)::integer INTO v_conflict
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS b(j, n)
        LEFT JOIN LATERAL (
          (SELECT ev.sequence, ev.hash, ev.client_time, ev.event_type, ev.event_version, ev.event_data
             FROM game.events ev
            WHERE NOT b.j ? 'minted'
              AND ev.session_id = p_session AND ev.event_id = (b.j->>'eventId')::uuid
              AND ev.server_time >= v_session.first_event_at
              AND ev.server_time <= v_session.last_event_at
           OFFSET 0)
          UNION ALL
          (SELECT ev.sequence, ev.hash, ev.client_time, ev.event_type, ev.event_version, ev.event_data
             FROM archive.events ev
            WHERE NOT b.j ? 'minted'
              AND ev.session_id = p_session AND ev.event_id = (b.j->>'eventId')::uuid
              AND ev.server_time >= v_session.first_event_at
              AND ev.server_time <= v_session.last_event_at
           OFFSET 0)
        ) e ON true
        LEFT JOIN LATERAL (
          (SELECT pv.hash FROM game.events pv
            WHERE pv.session_id = p_session AND pv.sequence = e.sequence - 1
              AND pv.server_time >= v_session.first_event_at
              AND pv.server_time <= v_session.last_event_at
           OFFSET 0)
          UNION ALL
          (SELECT pv.hash FROM archive.events pv
            WHERE pv.session_id = p_session AND pv.sequence = e.sequence - 1
              AND pv.server_time >= v_session.first_event_at
              AND pv.server_time <= v_session.last_event_at
           OFFSET 0)
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
