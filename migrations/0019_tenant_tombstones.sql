-- Deleting a tenant (issue 19, offboarding): `agate tenants delete` removes every row of a
-- tenant from its placement and the control plane, and the control plane keeps this record of
-- who deleted which tenant, when, and how many rows of each table went. A row is written when
-- the deletion is asked for (deleted_at null: under way, a rerun resumes it; the counts grow as
-- each step commits) and completed (deleted_at set) in the control-plane transaction that
-- removes the tenant's keys, placement and row. No foreign key: the tenant is gone by then.
-- Only the login that owns the schema (the operator's) reads or writes it: row-level security
-- is forced, with a policy for that login alone, and agate's roles have no grant.
CREATE TABLE "admin"."tenant_tombstones" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"placement" text NOT NULL,
	"deleted_by" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE admin.tenant_tombstones ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE admin.tenant_tombstones FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY owner_only ON admin.tenant_tombstones TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
REVOKE ALL ON admin.tenant_tombstones FROM PUBLIC;
--> statement-breakpoint
-- admin.tenant_placements forces row-level security and has no policy for its owner, so the
-- deleter (the owner's login, which need not bypass row-level security) could not remove a
-- placement row. It may now, in a transaction that names the tenant in agate.removing_tenant
-- (the name the append-only guards already know, migration 0018); agate's roles have no DELETE
-- grant on the table, so the policy opens nothing to them.
CREATE POLICY tenant_removal ON admin.tenant_placements FOR DELETE
  USING ("tenant_id" = nullif(current_setting('agate.removing_tenant', true), '')::uuid);
