-- Operator keys (ADR 0014): credentials that belong to no tenant, the only ones that may act
-- across tenants (create tenants). Their own table, so api_keys.tenant_id stays NOT NULL for
-- every tenant key. Only hashes are stored. Row-level security is forced with no policy: no role
-- but agate_maintenance (BYPASSRLS) sees a row, and agate_app and agate_analyst have no grant.
-- The lookup function's current definition is migrations/repeatable/admin.find_operator_key.sql,
-- applied after the numbered migrations.
CREATE TABLE "operator_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"key_hash" "bytea" NOT NULL,
	"label" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "operator_keys_key_hash_key" ON "operator_keys" USING btree ("key_hash");
--> statement-breakpoint
ALTER TABLE public.operator_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE public.operator_keys FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
REVOKE ALL ON public.operator_keys FROM PUBLIC;
--> statement-breakpoint
GRANT SELECT, INSERT ON public.operator_keys TO agate_maintenance;
--> statement-breakpoint
GRANT UPDATE (revoked_at, updated_at) ON public.operator_keys TO agate_maintenance;
--> statement-breakpoint
-- Whoever may SET ROLE agate_maintenance could insert a key directly: the login (session_user,
-- whatever role is current) must own the database or be a superuser, as `agate keys create
-- --operator` checks before it starts.
CREATE FUNCTION admin.refuse_operator_key_by_non_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = session_user AND r.rolsuper)
     AND NOT pg_catalog.pg_has_role(session_user,
       (SELECT d.datdba FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()),
       'MEMBER') THEN
    RAISE EXCEPTION 'login % may not create operator keys: only the database owner or a superuser may', session_user
      USING ERRCODE = '42501',
            HINT = 'Run agate keys create --operator with a DATABASE_URL that names the database owner.';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER refuse_non_owner BEFORE INSERT ON public.operator_keys
  FOR EACH ROW EXECUTE FUNCTION admin.refuse_operator_key_by_non_owner();
