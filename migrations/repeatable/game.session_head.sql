-- The current definition of game.session_head (ADR 0030), called by src/events/sessions.queries.ts
-- (`selectSessionHead`). A repeatable file: `agate migrate` reapplies it, after the numbered
-- migrations, whenever its text changes. CREATE OR REPLACE keeps the owner and the grants.
--
-- A session's row in one statement, for an append with verdicts that holds a recent state of the
-- session: its last sequence and head hash say whether that state is current, and a four-statement
-- tenant transaction for it would cost more than the verdicts themselves. Like game.session_rules
-- it runs as agate_maintenance and answers only for the tenant it is given, which the caller took
-- from the API key, so it reveals nothing across tenants.
CREATE OR REPLACE FUNCTION game.session_head(p_tenant_id uuid, p_session_id uuid)
RETURNS SETOF game.sessions
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT s.* FROM game.sessions s
   WHERE s.id = p_session_id AND s.tenant_id = p_tenant_id
$$;
--> statement-breakpoint
-- A new owner needs CREATE on the schema at the moment of the change only; changing to the same
-- owner again is a no-op.
GRANT CREATE ON SCHEMA game TO agate_maintenance;
--> statement-breakpoint
ALTER FUNCTION game.session_head(uuid, uuid) OWNER TO agate_maintenance;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA game FROM agate_maintenance;
--> statement-breakpoint
REVOKE ALL ON FUNCTION game.session_head(uuid, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION game.session_head(uuid, uuid) TO agate_app, agate_analyst;
