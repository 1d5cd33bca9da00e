-- The current definition of admin.find_operator_key (ADR 0014), called by
-- src/keys/lookup-key.ts. A repeatable file: `agate migrate` reapplies it, after the numbered
-- migrations (0009 creates public.operator_keys), whenever its text changes. CREATE OR REPLACE
-- keeps the owner and the grants; the owner and grants below make a first apply complete.
--
-- The lookup stays one statement (ADR 0009): the server picks this function or find_api_key by
-- the key's prefix. It answers only for the hash of a live operator key, with its id.
CREATE OR REPLACE FUNCTION admin.find_operator_key(p_key_hash bytea)
RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT k.id FROM public.operator_keys k
   WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
$$;
--> statement-breakpoint
-- A new owner needs CREATE on the schema at the moment of the change only; changing to the same
-- owner again is a no-op.
GRANT CREATE ON SCHEMA admin TO agate_maintenance;
--> statement-breakpoint
ALTER FUNCTION admin.find_operator_key(bytea) OWNER TO agate_maintenance;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA admin FROM agate_maintenance;
--> statement-breakpoint
REVOKE ALL ON FUNCTION admin.find_operator_key(bytea) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION admin.find_operator_key(bytea) TO agate_app, agate_analyst, agate_maintenance;
