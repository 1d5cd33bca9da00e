-- Online moves of a tenant between placements (issue 19, ADR 0034). Two tables, in every
-- database (each runs the same migrations):
-- - admin.tenant_moves, used in the control plane: one row per move, its step and counts, so a
--   killed `agate tenants move` resumes where it stopped or rolls back.
-- - admin.tenant_fences, used in the placements a tenant leaves and enters. In the source: the
--   write fence. While a row says `copying` or `fenced`, every write of the tenant (the append
--   functions, session creation, players, session secrets) first takes the move's advisory lock
--   shared for the rest of its transaction, so the mover's exclusive hold waits for writes in
--   flight and holds new ones back (each waits up to wait_ms, then fails with AG005: retry); once
--   it says `moved`, every such write fails with AG004 (the tenant lives elsewhere now: ask the
--   control plane again). In the target: `arriving` with the copy's progress (copied_through,
--   written in the same transaction as the rows it covers), removed when the placement switches.
-- admin.check_tenant_fence (repeatable) holds that logic; the trigger below calls it for the
-- writes that do not go through the append functions. Only the login that owns the schema (the
-- mover's) reads or writes these tables: row-level security is forced, with a policy for that
-- login alone.
CREATE TABLE "admin"."tenant_moves" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL REFERENCES "public"."tenants"("id"),
	"source" text NOT NULL,
	"target" text NOT NULL,
	"step" text NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"longest_fence_ms" integer,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	CONSTRAINT "tenant_moves_step_check"
	  CHECK ("step" in ('copying', 'switched', 'finished', 'rolled_back'))
);
--> statement-breakpoint
-- At most one move of a tenant that has not ended (copying, or switched and not finished).
CREATE UNIQUE INDEX "tenant_moves_open_idx" ON "admin"."tenant_moves" ("tenant_id")
  WHERE "step" in ('copying', 'switched');
--> statement-breakpoint
CREATE TABLE "admin"."tenant_fences" (
	"tenant_id" uuid PRIMARY KEY NOT NULL REFERENCES "public"."tenants"("id"),
	"move_id" uuid NOT NULL,
	"state" text NOT NULL,
	"placement" text NOT NULL,
	"wait_ms" integer DEFAULT 2000 NOT NULL,
	"copied_through" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_fences_state_check"
	  CHECK ("state" in ('copying', 'fenced', 'moved', 'arriving')),
	CONSTRAINT "tenant_fences_wait_check" CHECK ("wait_ms" between 1 and 60000)
);
--> statement-breakpoint
ALTER TABLE admin.tenant_moves ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE admin.tenant_moves FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE admin.tenant_fences ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE admin.tenant_fences FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
-- The owner (the login migrating now, which moves tenants and owns admin.check_tenant_fence)
-- sees every row; no other role has a policy or a grant.
CREATE POLICY owner_only ON admin.tenant_moves TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY owner_only ON admin.tenant_fences TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
REVOKE ALL ON admin.tenant_moves, admin.tenant_fences FROM PUBLIC;
--> statement-breakpoint
CREATE FUNCTION admin.fence_tenant_writes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM admin.check_tenant_fence(NEW.tenant_id);
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER fence_tenant_writes BEFORE INSERT ON game.sessions
  FOR EACH ROW EXECUTE FUNCTION admin.fence_tenant_writes();
--> statement-breakpoint
CREATE TRIGGER fence_tenant_writes BEFORE INSERT ON game.session_secrets
  FOR EACH ROW EXECUTE FUNCTION admin.fence_tenant_writes();
--> statement-breakpoint
CREATE TRIGGER fence_tenant_writes BEFORE INSERT OR UPDATE ON public.players
  FOR EACH ROW EXECUTE FUNCTION admin.fence_tenant_writes();
--> statement-breakpoint
-- Append-only still, with one exception: `agate tenants move --finish` removes a tenant's rows
-- from the placement it left, once that placement's fence says `moved` (verified on the target,
-- placement switched), in a transaction that names the tenant in agate.removing_tenant. No row
-- of a tenant that still lives here can be removed that way, and UPDATE stays refused.
CREATE OR REPLACE FUNCTION admin.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Two statements: the fence table is read (and its privilege checked) only by the remover.
  IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW'
     AND current_setting('agate.removing_tenant', true) = OLD.tenant_id::text THEN
    IF EXISTS (SELECT 1 FROM admin.tenant_fences f
                WHERE f.tenant_id = OLD.tenant_id AND f.state = 'moved') THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION '% on %.% is refused: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'AG001',
          HINT = 'Record a new event or audit entry instead of changing or removing one.';
END $$;
