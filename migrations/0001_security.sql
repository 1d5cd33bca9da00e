-- Everything drizzle-kit cannot express: roles and grants, row-level security, the append-only
-- guards, the first monthly partitions, PII markers, and the append function (the hot path).
-- Role creation tolerates a concurrent migration of another database in the same cluster.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['agate_app', 'agate_analyst', 'agate_maintenance'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
    IF NOT pg_has_role(current_user, r, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', r, current_user);
    END IF;
  END LOOP;
  IF NOT (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'agate_maintenance') THEN
    ALTER ROLE agate_maintenance BYPASSRLS;
  END IF;
END $$;
--> statement-breakpoint
CREATE FUNCTION admin.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on %.% is refused: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'AG001',
          HINT = 'Record a new event or audit entry instead of changing or removing one.';
END $$;
--> statement-breakpoint
CREATE TRIGGER refuse_update_delete BEFORE UPDATE OR DELETE ON game.events
  FOR EACH ROW EXECUTE FUNCTION admin.refuse_change();
--> statement-breakpoint
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON game.events
  FOR EACH STATEMENT EXECUTE FUNCTION admin.refuse_change();
--> statement-breakpoint
CREATE TRIGGER refuse_update_delete BEFORE UPDATE OR DELETE ON admin.audit_log
  FOR EACH ROW EXECUTE FUNCTION admin.refuse_change();
--> statement-breakpoint
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON admin.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION admin.refuse_change();
--> statement-breakpoint
-- Monthly partitions from one month back to three ahead, plus a default partition, with UTC bounds
-- and the names pg_partman uses. Statement-level triggers are not cloned to partitions, so each
-- partition gets its own TRUNCATE guard; row-level ones are.
DO $$
DECLARE
  t record;
  first_month date := (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date;
  m date;
  part text;
BEGIN
  FOR t IN SELECT * FROM (VALUES ('game', 'events'), ('admin', 'audit_log')) AS v(sch, tbl) LOOP
    FOR i IN 0..4 LOOP
      m := (first_month + make_interval(months => i))::date;
      part := format('%s_p%s', t.tbl, to_char(m, 'YYYY_MM'));
      EXECUTE format(
        'CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
        t.sch, part, t.sch, t.tbl,
        m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
      EXECUTE format(
        'CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON %I.%I FOR EACH STATEMENT EXECUTE FUNCTION admin.refuse_change()',
        t.sch, part);
    END LOOP;
    part := t.tbl || '_default';
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I DEFAULT', t.sch, part, t.sch, t.tbl);
    EXECUTE format(
      'CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON %I.%I FOR EACH STATEMENT EXECUTE FUNCTION admin.refuse_change()',
      t.sch, part);
  END LOOP;
END $$;
--> statement-breakpoint
-- Row-level security, enabled and forced on every tenant-scoped table. No tenant set means no rows:
-- current_setting(..., true) is NULL before the first set and '' after a local one ended.
DO $$
DECLARE
  t text;
  col text;
BEGIN
  FOREACH t IN ARRAY ARRAY['public.tenants', 'public.api_keys', 'public.players', 'game.sessions',
                           'game.events', 'game.snapshots', 'admin.audit_log'] LOOP
    col := CASE WHEN t = 'public.tenants' THEN 'id' ELSE 'tenant_id' END;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %s USING (%I = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) WITH CHECK (%I = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)',
      t, col, col);
  END LOOP;
END $$;
--> statement-breakpoint
-- Grants go to the parent tables only: a grant on a partition would bypass the parent's RLS.
REVOKE ALL ON ALL TABLES IN SCHEMA public, game, admin FROM PUBLIC;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public, game, admin TO agate_app, agate_analyst, agate_maintenance;
--> statement-breakpoint
GRANT SELECT ON public.tenants TO agate_app, agate_analyst;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON public.players TO agate_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON game.sessions, game.events, game.snapshots, admin.audit_log TO agate_app;
--> statement-breakpoint
GRANT UPDATE (status, last_sequence, head_hash, first_event_at, last_event_at, ended_at, updated_at)
  ON game.sessions TO agate_app;
--> statement-breakpoint
GRANT SELECT ON public.players, game.sessions, game.events, game.snapshots TO agate_analyst;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON public.tenants, public.api_keys TO agate_maintenance;
--> statement-breakpoint
GRANT SELECT ON public.players, game.sessions, game.events TO agate_maintenance;
--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON game.snapshots TO agate_maintenance;
--> statement-breakpoint
GRANT SELECT, INSERT ON admin.audit_log TO agate_maintenance;
--> statement-breakpoint
COMMENT ON COLUMN public.players.external_ref IS 'pii';
--> statement-breakpoint
COMMENT ON COLUMN public.players.display_name IS 'pii';
--> statement-breakpoint
COMMENT ON COLUMN public.players.email IS 'pii';
--> statement-breakpoint
-- The append protocol in one call (one round trip, one transaction when called in autocommit).
-- Invariants: runs as agate_app in p_tenant's context whoever the caller is; takes the session
-- row lock before reading anything, so retries racing their original see its commit; a batch
-- whose event ids are all stored (in order) returns the sequences first assigned, before any
-- other check; otherwise nothing is stored unless the session is active and p_expected (when
-- given) equals last_sequence; sequences are last_sequence+1.. with no gap; each event's hash is
-- sha256(previous hash || int8 big-endian sequence || content hash); server_time never decreases
-- within a session. Each element of p_events: {eventId, type, version, data, clientTime,
-- contentHash (hex)}, validated and hashed by the caller.
CREATE FUNCTION game.append_events(
  p_tenant uuid,
  p_session uuid,
  p_expected bigint,
  p_events jsonb,
  p_lock_timeout_ms integer
) RETURNS TABLE (outcome text, first_sequence bigint, last_sequence bigint)
LANGUAGE plpgsql AS $fn$
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

  IF v_session.last_sequence > 0 THEN
    SELECT count(*)::integer,
           min(e.sequence),
           min(e.sequence - x.ord) = max(e.sequence - x.ord)
             AND max(e.sequence) - min(e.sequence) = count(*) - 1
      INTO v_dup_count, v_dup_first, v_in_order
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(item, ord)
      JOIN game.events e
        ON e.session_id = p_session AND e.event_id = (x.item->>'eventId')::uuid
     WHERE e.server_time >= v_session.first_event_at
       AND e.server_time <= v_session.last_event_at;
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
--> statement-breakpoint
REVOKE ALL ON FUNCTION game.append_events(uuid, uuid, bigint, jsonb, integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION game.append_events(uuid, uuid, bigint, jsonb, integer) TO agate_app;
