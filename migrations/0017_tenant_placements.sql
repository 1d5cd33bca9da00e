-- Where each tenant's data lives (issue 19, ADR 0032): `shared` (this database, row-level
-- security) or `database:<name>`, a database server that configuration names
-- (AGATE_DATABASE_URL_<NAME>; its credentials never enter a table). This table is the control
-- plane's: the database of DATABASE_URL, which also keeps tenants, keys and operator keys. Every
-- tenant has one row: existing tenants are shared, and a tenant inserted by any code path gets a
-- shared row from the trigger, which tenant creation then points elsewhere in its own
-- transaction. A placement database runs the same migrations, so it has this table too, where
-- every tenant it holds has the trigger's `shared` row: its data is in that database (which is
-- how agate's consumers there, and here, list the tenants whose data they derive). Only
-- agate_maintenance reads or writes it.
CREATE TABLE "admin"."tenant_placements" (
	"tenant_id" uuid PRIMARY KEY NOT NULL REFERENCES "public"."tenants"("id"),
	"placement" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_placements_placement_check"
	  CHECK ("placement" = 'shared' OR "placement" ~ '^database:[a-z][a-z0-9_]{0,39}$')
);
--> statement-breakpoint
INSERT INTO admin.tenant_placements (tenant_id, placement) SELECT id, 'shared' FROM public.tenants;
--> statement-breakpoint
CREATE FUNCTION admin.place_new_tenant() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO admin.tenant_placements (tenant_id, placement) VALUES (NEW.id, 'shared')
    ON CONFLICT (tenant_id) DO NOTHING;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER place_new_tenant AFTER INSERT ON public.tenants
  FOR EACH ROW EXECUTE FUNCTION admin.place_new_tenant();
--> statement-breakpoint
ALTER TABLE admin.tenant_placements ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE admin.tenant_placements FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
REVOKE ALL ON admin.tenant_placements FROM PUBLIC;
--> statement-breakpoint
GRANT SELECT, INSERT ON admin.tenant_placements TO agate_maintenance;
--> statement-breakpoint
GRANT UPDATE (placement, updated_at) ON admin.tenant_placements TO agate_maintenance;
