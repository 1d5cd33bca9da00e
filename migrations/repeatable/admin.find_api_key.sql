-- The current definition of admin.find_api_key (ADR 0009), called by src/keys/lookup-key.ts.
-- A repeatable file: `agate migrate` reapplies it, after the numbered migrations, whenever its
-- text changes (migration 0004 first created it). CREATE OR REPLACE cannot change the columns a
-- function returns, so it is dropped and created again, then given its owner and grants.
--
-- API-key lookup in one statement, so authenticating a request is one round trip instead of a
-- four-statement transaction. The function runs as agate_maintenance (BYPASSRLS: finding a key's
-- tenant crosses tenants) and returns only the id, tenant and role of a live key with this hash,
-- and the rate limit that applies to it (migration 0016): the key's own pair, else its tenant's,
-- with where it came from ('key' or 'tenant'); all three NULL when the server's setting applies.
DROP FUNCTION IF EXISTS admin.find_api_key(bytea);
--> statement-breakpoint
CREATE FUNCTION admin.find_api_key(p_key_hash bytea)
RETURNS TABLE (
  id uuid,
  tenant_id uuid,
  role text,
  rate_limit_per_second integer,
  rate_limit_burst integer,
  rate_limit_source text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT k.id, k.tenant_id, k.role,
         coalesce(k.rate_limit_per_second, t.rate_limit_per_second),
         coalesce(k.rate_limit_burst, t.rate_limit_burst),
         CASE WHEN k.rate_limit_per_second IS NOT NULL THEN 'key'
              WHEN t.rate_limit_per_second IS NOT NULL THEN 'tenant' END
    FROM public.api_keys k
    JOIN public.tenants t ON t.id = k.tenant_id
   WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
$$;
--> statement-breakpoint
-- A new owner needs CREATE on the schema at the moment of the change only.
GRANT CREATE ON SCHEMA admin TO agate_maintenance;
--> statement-breakpoint
ALTER FUNCTION admin.find_api_key(bytea) OWNER TO agate_maintenance;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA admin FROM agate_maintenance;
--> statement-breakpoint
REVOKE ALL ON FUNCTION admin.find_api_key(bytea) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION admin.find_api_key(bytea) TO agate_app, agate_analyst, agate_maintenance;
