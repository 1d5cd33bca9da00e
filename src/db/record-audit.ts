import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog } from './schema.js';
import { withTenant } from './tenant-context.js';
import type pg from 'pg';

export type AuditEntry = {
  tenantId: string;
  /** Who did it: an API key's id, or `cli` for the operator at the command line. */
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
};

/**
 * Writes one audit entry as agate_app in the tenant (row-level security checks the tenant). The
 * API and the CLI call it before they hand out what they read, so nothing leaves unrecorded.
 */
export async function recordAudit(pool: pg.Pool, entry: AuditEntry): Promise<void> {
  await withTenant(pool, { tenantId: entry.tenantId }, (tx) =>
    drizzle(tx)
      .insert(auditLog)
      .values({ id: uuidv7(), ...entry }),
  );
}
