-- The current definition of game.append_sessions: appends to up to 64 sessions of one tenant in
-- one call and one commit, called by src/events/append-many.ts. A repeatable file (see
-- game.append_events.sql for how those are applied); a change of arguments or result columns
-- needs a DROP of the old signature here and the grants again.
--
-- Each element of p_batches: {sessionId, expected (null: not compared), events}, events in the
-- format game.append_events takes; session ids distinct (the caller checks). Returns one row per
-- element, idx its 0-based position in p_batches, with game.append_events' outcome columns, or
-- outcome session_busy when the session's lock was not free in time (its batch is not tried), or
-- failed with the SQLSTATE and message of an unexpected error in that session's append.
--
-- Invariants:
-- - runs as agate_app in p_tenant's context whoever the caller is, like game.append_events.
-- - every session's advisory lock (the one game.append_events takes, re-entrant, so its own
--   call then returns at once) is taken before any write, in sorted session-id order: two calls
--   with overlapping sessions wait for each other in one order and never deadlock, and a single
--   append holds one lock only. The whole wait is bounded by p_lock_timeout_ms from the start of
--   the call (each lock waits for what is left of it; once it is spent, a lock is only tried): a
--   session whose lock is not free in time is session_busy and the others go on.
-- - feed order (ADR 0021; the long comment in game.append_events.sql): taking the advisory locks
--   writes nothing, so this transaction gets its id at its first insert, after every lock is
--   held, and it is newer than that of every earlier append to each of these sessions, which
--   ended before the lock was granted. The appends after the first see an id already assigned
--   (v_had_id in game.append_events), and pass the AG002 check for the same reason; a session row
--   written meanwhile by something that does not take the advisory lock fails that session only.
--   Rows inserted in the subtransactions below still carry the top-level id (pg_current_xact_id()
--   is the transaction's, not the subtransaction's), so every session's events share that order.
-- - each session's append runs in its own subtransaction (BEGIN ... EXCEPTION): a batch is stored
--   whole or not at all, and an error in one session rolls back only that session. Lock attempts
--   write nothing and get no subtransaction id; the appends get at most one each, so N <= 64 keeps
--   the backend within its cache of 64 subtransaction ids (PGPROC_MAX_CACHED_SUBXIDS), past which
--   every snapshot in the cluster would have to consult pg_subtrans.
CREATE OR REPLACE FUNCTION game.append_sessions(
  p_tenant uuid,
  p_batches jsonb,
  p_lock_timeout_ms integer,
  p_written_by text
) RETURNS TABLE (idx integer, outcome text, first_sequence bigint, last_sequence bigint,
                 conflict_index integer, error_state text, error_message text)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
  v_deadline timestamptz := clock_timestamp() + make_interval(secs => p_lock_timeout_ms / 1000.0);
  v_left_ms integer;
  v_item record;
  v_locked integer[] := ARRAY[]::integer[];
  v_row record;
  v_state text;
  v_message text;
BEGIN
  IF jsonb_array_length(p_batches) > 64 THEN
    RAISE EXCEPTION 'game.append_sessions takes at most 64 sessions, not %', jsonb_array_length(p_batches)
      USING ERRCODE = '22023';
  END IF;
  PERFORM set_config('role', 'agate_app', true),
          set_config('app.tenant_id', p_tenant::text, true);
  -- A tenant being moved: hold its write fence shared, or wait for the switch (migration 0018).
  PERFORM admin.check_tenant_fence(p_tenant);

  FOR v_item IN
    SELECT (b.n - 1)::integer AS i, (b.j->>'sessionId')::uuid AS session_id
      FROM jsonb_array_elements(p_batches) WITH ORDINALITY AS b(j, n)
     ORDER BY 2
  LOOP
    v_left_ms := floor(extract(epoch FROM v_deadline - clock_timestamp()) * 1000)::integer;
    IF v_left_ms < 1 THEN
      IF pg_try_advisory_xact_lock(hashtextextended('agate.append:' || v_item.session_id::text, 0)) THEN
        v_locked := v_locked || v_item.i;
      END IF;
    ELSE
      BEGIN
        PERFORM set_config('lock_timeout', v_left_ms::text || 'ms', true);
        PERFORM pg_advisory_xact_lock(hashtextextended('agate.append:' || v_item.session_id::text, 0));
        v_locked := v_locked || v_item.i;
      EXCEPTION WHEN lock_not_available THEN
        NULL;
      END;
    END IF;
  END LOOP;

  FOR v_item IN
    SELECT (b.n - 1)::integer AS i, (b.j->>'sessionId')::uuid AS session_id,
           (b.j->>'expected')::bigint AS expected, b.j->'events' AS events
      FROM jsonb_array_elements(p_batches) WITH ORDINALITY AS b(j, n)
     ORDER BY 2
  LOOP
    IF NOT v_item.i = ANY (v_locked) THEN
      RETURN QUERY SELECT v_item.i, 'session_busy'::text, NULL::bigint, NULL::bigint,
                          NULL::integer, NULL::text, NULL::text;
      CONTINUE;
    END IF;
    v_state := NULL;
    BEGIN
      SELECT * INTO v_row
        FROM game.append_events(p_tenant, v_item.session_id, v_item.expected, v_item.events,
                                p_lock_timeout_ms, p_written_by) a;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
    END;
    IF v_state IS NULL THEN
      RETURN QUERY SELECT v_item.i, v_row.outcome, v_row.first_sequence, v_row.last_sequence,
                          v_row.conflict_index, NULL::text, NULL::text;
    ELSE
      RETURN QUERY SELECT v_item.i, 'failed'::text, NULL::bigint, NULL::bigint, NULL::integer,
                          v_state, v_message;
    END IF;
  END LOOP;
END
$fn$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION game.append_sessions(uuid, jsonb, integer, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION game.append_sessions(uuid, jsonb, integer, text) TO agate_app;
