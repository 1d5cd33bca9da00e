-- The feed (ADR 0021). Every event records its writing transaction's id: the feed orders events by
-- (transaction_id, session_id, sequence) and delivers only those of transactions older than every
-- transaction still open (pg_snapshot_xmin), so an event that commits late is delayed, never
-- skipped. The column is added with a constant default first, so existing events (all read as
-- transaction '0', ordered by session and sequence) are not rewritten, and then defaults to the
-- writer's id: game.append_events and the bulk import's COPY fill it without naming it.
-- archive.events gets the same column and index, so months that retention moves keep their
-- positions and the feed reads them where they are.
CREATE SCHEMA "feed";
--> statement-breakpoint
CREATE TABLE "feed"."consumer_members" (
	"consumer_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"member" text NOT NULL,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "consumer_members_pkey" PRIMARY KEY("consumer_id","member")
);
--> statement-breakpoint
CREATE TABLE "feed"."consumer_slots" (
	"consumer_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"slot" integer NOT NULL,
	"checkpoint_transaction" "xid8" DEFAULT '0' NOT NULL,
	"checkpoint_session" uuid DEFAULT '00000000-0000-0000-0000-000000000000' NOT NULL,
	"checkpoint_sequence" bigint DEFAULT 0 NOT NULL,
	"owner" text,
	"epoch" bigint DEFAULT 0 NOT NULL,
	"lease_expires_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consumer_slots_pkey" PRIMARY KEY("consumer_id","slot")
);
--> statement-breakpoint
CREATE TABLE "feed"."consumers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"event_types" text[],
	"slots" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consumers_tenant_id_name_key" UNIQUE("tenant_id","name"),
	CONSTRAINT "consumers_slots_check" CHECK ("feed"."consumers"."slots" between 1 and 256),
	CONSTRAINT "consumers_name_check" CHECK ("feed"."consumers"."name" ~ '^[a-z0-9][a-z0-9._-]{0,62}$')
);
--> statement-breakpoint
ALTER TABLE "game"."events" ADD COLUMN "transaction_id" "xid8" DEFAULT '0' NOT NULL;--> statement-breakpoint
ALTER TABLE "game"."events" ALTER COLUMN "transaction_id" SET DEFAULT pg_current_xact_id();--> statement-breakpoint
ALTER TABLE "archive"."events" ADD COLUMN "transaction_id" "xid8" DEFAULT '0' NOT NULL;--> statement-breakpoint
ALTER TABLE "archive"."events" ALTER COLUMN "transaction_id" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "feed"."consumer_members" ADD CONSTRAINT "consumer_members_consumer_fk" FOREIGN KEY ("consumer_id") REFERENCES "feed"."consumers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feed"."consumer_slots" ADD CONSTRAINT "consumer_slots_consumer_fk" FOREIGN KEY ("consumer_id") REFERENCES "feed"."consumers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feed"."consumers" ADD CONSTRAINT "consumers_tenant_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_feed_idx" ON "game"."events" USING btree ("tenant_id","transaction_id","session_id","sequence");--> statement-breakpoint
CREATE INDEX "consumer_members_tenant_id_idx" ON "feed"."consumer_members" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "consumer_slots_tenant_id_idx" ON "feed"."consumer_slots" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "events_feed_idx" ON "archive"."events" USING btree ("tenant_id","transaction_id","session_id","sequence");
--> statement-breakpoint
-- Consumers, their slots and members are the tenant's: RLS forced like every tenant table. A
-- tenant's services (agate_app) and agate's own runner (agate_app in each tenant's context) keep
-- them; agate_maintenance enumerates them across tenants; analysts may read them.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['feed.consumers', 'feed.consumer_slots', 'feed.consumer_members'] LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %s USING (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) WITH CHECK (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)',
      t);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', t);
  END LOOP;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA feed TO agate_app, agate_analyst, agate_maintenance;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON feed.consumers, feed.consumer_slots, feed.consumer_members TO agate_app, agate_maintenance;
--> statement-breakpoint
GRANT SELECT ON feed.consumers, feed.consumer_slots, feed.consumer_members TO agate_analyst;
