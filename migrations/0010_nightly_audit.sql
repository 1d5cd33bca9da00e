-- The nightly audit (ADR 0016): what it found, how far each session's chain and snapshots were
-- verified, and the cluster-wide nightly state (schedule, audit mark, rolling cursor, last success).
CREATE TABLE "admin"."integrity_findings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"session_id" uuid NOT NULL,
	"sequence" bigint NOT NULL,
	"kind" text NOT NULL,
	"message" text NOT NULL,
	"run_id" uuid NOT NULL,
	"found_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "integrity_findings_session_id_sequence_kind_key" UNIQUE("session_id","sequence","kind")
);
--> statement-breakpoint
CREATE INDEX "integrity_findings_tenant_id_idx" ON "admin"."integrity_findings" USING btree ("tenant_id");--> statement-breakpoint
CREATE TABLE "admin"."session_audits" (
	"session_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"snapshot_sequence" bigint NOT NULL,
	"chain_hash" "bytea" NOT NULL,
	"state_hash" "bytea" NOT NULL,
	"verified_sequence" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "session_audits_tenant_id_idx" ON "admin"."session_audits" USING btree ("tenant_id");--> statement-breakpoint
CREATE TABLE "admin"."nightly_state" (
	"id" text PRIMARY KEY NOT NULL,
	"schedule" text,
	"audited_until" timestamp with time zone,
	"verify_cursor" uuid,
	"last_success_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "nightly_state_single_row_check" CHECK ("admin"."nightly_state"."id" = 'nightly')
);
--> statement-breakpoint
INSERT INTO admin.nightly_state (id) VALUES ('nightly');--> statement-breakpoint
-- Findings and audit progress are tenant data (RLS forced, as on every tenant-scoped table), but
-- only the nightly job (agate_maintenance) writes or reads them; tenants see none of it yet.
ALTER TABLE admin.integrity_findings ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE admin.integrity_findings FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_isolation ON admin.integrity_findings
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
ALTER TABLE admin.session_audits ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE admin.session_audits FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_isolation ON admin.session_audits
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);--> statement-breakpoint
REVOKE ALL ON admin.integrity_findings, admin.session_audits, admin.nightly_state FROM PUBLIC;--> statement-breakpoint
-- A finding is recorded once and never changed: no UPDATE or DELETE for the job.
GRANT SELECT, INSERT ON admin.integrity_findings TO agate_maintenance;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON admin.session_audits TO agate_maintenance;--> statement-breakpoint
GRANT SELECT, UPDATE ON admin.nightly_state TO agate_maintenance;
