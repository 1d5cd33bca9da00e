-- Rate limits per API key and per tenant (issue 18). A NULL pair inherits: a key's own limit
-- comes first, then its tenant's, then the server's setting (AGATE_RATE_LIMIT / AGATE_RATE_BURST).
-- Requests per second and burst are set together or not at all, so the limit that applies is
-- always one row's pair (IS NOT NULL spelled out: a CHECK that comes out NULL passes). Existing
-- grants cover the new columns: agate_maintenance (the CLI and the admin routes) writes both
-- tables, and admin.find_api_key (repeatable) reads them.
ALTER TABLE "api_keys" ADD COLUMN "rate_limit_per_second" integer;
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "rate_limit_burst" integer;
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_rate_limit_check" CHECK (
  ("rate_limit_per_second" IS NULL AND "rate_limit_burst" IS NULL)
  OR ("rate_limit_per_second" IS NOT NULL AND "rate_limit_burst" IS NOT NULL
      AND "rate_limit_per_second" > 0 AND "rate_limit_burst" > 0)
);
--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "rate_limit_per_second" integer;
--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "rate_limit_burst" integer;
--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_rate_limit_check" CHECK (
  ("rate_limit_per_second" IS NULL AND "rate_limit_burst" IS NULL)
  OR ("rate_limit_per_second" IS NOT NULL AND "rate_limit_burst" IS NOT NULL
      AND "rate_limit_per_second" > 0 AND "rate_limit_burst" > 0)
);
