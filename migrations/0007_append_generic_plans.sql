-- Two costs of game.append_events found with perf and EXPLAIN on this machine kind:
-- 1. Migration 0006's LATERAL probe was flattened by the planner into a join that read every
--    event of the session through the primary key (session_id, sequence, server_time), so an
--    append cost more the longer its session (2.2 ms at 260 events). Probing unnested uuids with
--    OFFSET 0 keeps one (session_id, event_id) index probe per id in the pruned partitions.
-- 2. PL/pgSQL planned its statements afresh on most calls (custom plans: the partitioned
--    queries' generic costs look worse before run-time pruning). The function now runs with
--    plan_cache_mode = force_generic_plan, restored when it returns; pruning still happens at
--    executor start.
-- 3. An event whose id agate minted for this call (marked "minted": true by the library; no
--    stored event can carry it) is not probed; a batch of minted ids skips the check. Client ids
--    are probed as before.
-- Nothing else changes; CREATE OR REPLACE keeps the owner and grants.
CREATE OR REPLACE FUNCTION game.append_events(
  p_tenant uuid,
  p_session uuid,
  p_expected bigint,
  p_events jsonb,
  p_lock_timeout_ms integer
) RETURNS TABLE (outcome text, first_sequence bigint, last_sequence bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_session game.sessions%ROWTYPE;
  v_count integer := jsonb_array_length(p_events);
  v_dup_count integer;
  v_dup_first bigint;
  v_in_order boolean;
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
    RETURN QUERY SELECT 'session_not_found'::text, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;

  -- Only ids a client chose can have been stored before. With a minted id in the batch it cannot
  -- be an exact retry, so the probe's positions (in the client ids' order) matter only when
  -- every id is the client's, and then they are the batch's.
  IF v_session.last_sequence > 0 AND p_events @? '$[*] ? (!exists(@.minted))' THEN
    SELECT count(*)::integer,
           min(e.sequence),
           min(e.sequence - x.ord) = max(e.sequence - x.ord)
             AND max(e.sequence) - min(e.sequence) = count(*) - 1
      INTO v_dup_count, v_dup_first, v_in_order
      FROM unnest(ARRAY(SELECT (a.j->>'eventId')::uuid
                           FROM jsonb_array_elements(p_events) WITH ORDINALITY AS a(j, n)
                          WHERE NOT a.j ? 'minted'
                          ORDER BY a.n))
             WITH ORDINALITY AS x(id, ord)
      CROSS JOIN LATERAL (
        -- OFFSET 0 keeps this a probe per id: flattened, it became a join over every event of
        -- the session (the primary key matches session_id and the server_time range).
        SELECT ev.sequence FROM game.events ev
         WHERE ev.session_id = p_session AND ev.event_id = x.id
           AND ev.server_time >= v_session.first_event_at
           AND ev.server_time <= v_session.last_event_at
        OFFSET 0
      ) e;
    IF v_dup_count > 0 THEN
      IF v_dup_count = v_count AND v_in_order THEN
        RETURN QUERY SELECT 'duplicate'::text, v_dup_first, v_dup_first + v_count - 1;
      ELSE
        RETURN QUERY SELECT 'event_id_conflict'::text, NULL::bigint, v_session.last_sequence;
      END IF;
      RETURN;
    END IF;
  END IF;

  IF v_session.status <> 'active' THEN
    RETURN QUERY SELECT 'session_ended'::text, NULL::bigint, v_session.last_sequence;
    RETURN;
  END IF;
  IF p_expected IS NOT NULL AND p_expected <> v_session.last_sequence THEN
    RETURN QUERY SELECT 'sequence_conflict'::text, NULL::bigint, v_session.last_sequence;
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
                           event_data, client_time, server_time, hash)
  SELECT (x.item->>'eventId')::uuid, v_session.tenant_id, p_session, v_session.last_sequence + x.ord,
         x.item->>'type', (x.item->>'version')::integer, x.item->'data',
         (x.item->>'clientTime')::timestamptz, v_time, v_hashes[x.ord]
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

  RETURN QUERY SELECT 'appended'::text, v_session.last_sequence + 1, v_session.last_sequence + v_count;
END
$fn$;
