CREATE INDEX "audit_log_action_subject_idx" ON "admin"."audit_log" USING btree ("action","subject");--> statement-breakpoint
-- The nightly job records every moved session's head hash as an `anchor.recorded` entry; verify
-- compares replays against them, also for analysts (whose replays the server audits).
GRANT SELECT ON admin.audit_log TO agate_analyst;
