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
-- The two functions' current definitions are repeatable files, applied after the numbered
-- migrations: migrations/repeatable/game.append_events.sql (here only the old 5-argument
-- function is dropped) and migrations/repeatable/game.event_seeds.sql.
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
-- Its 6-argument successor (p_written_by, conflict_index) is created by the repeatable file.
DROP FUNCTION game.append_events(uuid, uuid, bigint, jsonb, integer);
