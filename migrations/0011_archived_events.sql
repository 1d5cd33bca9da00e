-- Months that retention detaches stay readable by the store: each is attached to a partitioned
-- parent in the archive schema with the same columns, keys, tenant policy (RLS enabled and
-- forced) and append-only guards as the live table: archive.events for game.events,
-- archive.audit_log for admin.audit_log. Reads union the live and the archived parent, so a
-- session whose months were archived replays, verifies and exports as before. Grants go to the
-- parents only, never to a partition (a partition is read without the parent's RLS), and only
-- SELECT: nothing is written to the archive but by retention.
CREATE TABLE archive.events (LIKE game.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (server_time);
--> statement-breakpoint
ALTER TABLE archive.events ADD CONSTRAINT events_pkey PRIMARY KEY (session_id, sequence, server_time);
--> statement-breakpoint
CREATE INDEX events_session_id_event_id_idx ON archive.events USING btree (session_id, event_id);
--> statement-breakpoint
CREATE TABLE archive.audit_log (LIKE admin.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (occurred_at);
--> statement-breakpoint
ALTER TABLE archive.audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id, occurred_at);
--> statement-breakpoint
CREATE INDEX audit_log_tenant_id_occurred_at_idx ON archive.audit_log USING btree (tenant_id, occurred_at);
--> statement-breakpoint
CREATE INDEX audit_log_action_subject_idx ON archive.audit_log USING btree (action, subject);
--> statement-breakpoint
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['archive.events', 'archive.audit_log'] LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %s USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)',
      t);
    EXECUTE format(
      'CREATE TRIGGER refuse_update_delete BEFORE UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION admin.refuse_change()',
      t);
    EXECUTE format(
      'CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION admin.refuse_change()',
      t);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', t);
  END LOOP;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA archive TO agate_app, agate_analyst, agate_maintenance;
--> statement-breakpoint
GRANT SELECT ON archive.events, archive.audit_log TO agate_app, agate_analyst, agate_maintenance;
--> statement-breakpoint
-- Months archived by earlier versions: attached here (and by every maintenance run). Each kept
-- its own append-only row trigger when it was detached; attaching clones the parent's under the
-- same name, so the old one goes first, in this transaction.
DO $$
DECLARE
  t record;
  m timestamptz;
BEGIN
  FOR t IN
    SELECT c.relname AS name, substring(c.relname FROM '^(events|audit_log)_p') AS parent,
           substring(c.relname FROM '_p([0-9]{4}_[0-9]{2})$') AS month
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'archive' AND c.relkind = 'r' AND NOT c.relispartition
       AND c.relname ~ '^(events|audit_log)_p[0-9]{4}_[0-9]{2}$'
     ORDER BY 1
  LOOP
    m := to_date(t.month, 'YYYY_MM')::timestamp AT TIME ZONE 'UTC';
    EXECUTE format('DROP TRIGGER IF EXISTS refuse_update_delete ON archive.%I', t.name);
    -- A month detached before 0008 never got its written_by column; attaching needs the
    -- parent's columns, and 'legacy' is what 0008 wrote for every older event.
    IF t.parent = 'events' THEN
      EXECUTE format(
        'ALTER TABLE archive.%I ADD COLUMN IF NOT EXISTS written_by text NOT NULL DEFAULT ''legacy''',
        t.name);
      EXECUTE format('ALTER TABLE archive.%I ALTER COLUMN written_by DROP DEFAULT', t.name);
    END IF;
    EXECUTE format('ALTER TABLE archive.%I ATTACH PARTITION archive.%I FOR VALUES FROM (%L) TO (%L)',
                   t.parent, t.name, m, m + interval '1 month');
  END LOOP;
END $$;
