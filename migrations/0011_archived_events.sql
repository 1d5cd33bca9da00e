-- Months that retention detaches from game.events stay readable by the store: they are attached
-- to archive.events, a partitioned parent with the same columns, keys, tenant policy (RLS enabled
-- and forced) and append-only guards as game.events. Reads union game.events and archive.events,
-- so a session whose months were archived replays, verifies and exports as before. Grants go to
-- the parent only, never to a partition (a partition is read without the parent's RLS).
CREATE TABLE archive.events (LIKE game.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (server_time);
--> statement-breakpoint
ALTER TABLE archive.events ADD CONSTRAINT events_pkey PRIMARY KEY (session_id, sequence, server_time);
--> statement-breakpoint
CREATE INDEX events_session_id_event_id_idx ON archive.events USING btree (session_id, event_id);
--> statement-breakpoint
ALTER TABLE archive.events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE archive.events FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON archive.events
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
CREATE TRIGGER refuse_update_delete BEFORE UPDATE OR DELETE ON archive.events
  FOR EACH ROW EXECUTE FUNCTION admin.refuse_change();
--> statement-breakpoint
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON archive.events
  FOR EACH STATEMENT EXECUTE FUNCTION admin.refuse_change();
--> statement-breakpoint
REVOKE ALL ON archive.events FROM PUBLIC;
--> statement-breakpoint
GRANT USAGE ON SCHEMA archive TO agate_app, agate_analyst, agate_maintenance;
--> statement-breakpoint
GRANT SELECT ON archive.events TO agate_app, agate_analyst, agate_maintenance;
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
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'archive' AND c.relkind = 'r' AND c.relname ~ '^events_p[0-9]{4}_[0-9]{2}$'
       AND NOT c.relispartition
     ORDER BY 1
  LOOP
    m := to_date(substr(t.name, 9), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC';
    EXECUTE format('DROP TRIGGER IF EXISTS refuse_update_delete ON archive.%I', t.name);
    EXECUTE format('ALTER TABLE archive.events ATTACH PARTITION archive.%I FOR VALUES FROM (%L) TO (%L)',
                   t.name, m, m + interval '1 month');
  END LOOP;
END $$;
