CREATE TABLE "admin"."partition_settings" (
	"parent_table" text PRIMARY KEY NOT NULL,
	"premake" integer DEFAULT 3 NOT NULL,
	"retention_months" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "partition_settings_premake_check" CHECK ("admin"."partition_settings"."premake" between 1 and 120),
	CONSTRAINT "partition_settings_retention_check" CHECK ("admin"."partition_settings"."retention_months" is null or "admin"."partition_settings"."retention_months" >= 1)
);
--> statement-breakpoint
-- Settings for both time-partitioned tables; `agate partitions maintain --premake/--retention-months` updates them.
INSERT INTO admin.partition_settings (parent_table) VALUES ('game.events'), ('admin.audit_log');
--> statement-breakpoint
REVOKE ALL ON admin.partition_settings FROM PUBLIC;
--> statement-breakpoint
-- Partitions detached by retention are kept here, readable by the owner and still append-only.
CREATE SCHEMA archive;
