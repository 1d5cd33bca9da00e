-- The current definition of game.session_rules (ADR 0009), called by src/events/session-rules.ts.
-- A repeatable file: `agate migrate` reapplies it, after the numbered migrations, whenever its
-- text changes (migration 0005 first created it). CREATE OR REPLACE keeps the owner and grants.
--
-- A session's rules in one statement: the append path needs them (to validate a batch against
-- the right event types) the first time a process sees a session, and a four-statement
-- transaction for it made every cold append five round trips. Like admin.find_api_key it runs
-- as agate_maintenance; it answers only for the tenant it is given, which the caller took from
-- the API key, so it reveals nothing across tenants.
CREATE OR REPLACE FUNCTION game.session_rules(p_tenant_id uuid, p_session_id uuid)
RETURNS TABLE (rules text, rules_version integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT s.rules, s.rules_version FROM game.sessions s
   WHERE s.id = p_session_id AND s.tenant_id = p_tenant_id
$$;
--> statement-breakpoint
-- A new owner needs CREATE on the schema at the moment of the change only; changing to the same
-- owner again is a no-op.
GRANT CREATE ON SCHEMA game TO agate_maintenance;
--> statement-breakpoint
ALTER FUNCTION game.session_rules(uuid, uuid) OWNER TO agate_maintenance;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA game FROM agate_maintenance;
--> statement-breakpoint
REVOKE ALL ON FUNCTION game.session_rules(uuid, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION game.session_rules(uuid, uuid) TO agate_app, agate_analyst;
