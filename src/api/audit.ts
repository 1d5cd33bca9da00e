import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';

export type AuditEntry = {
  tenantId: string;
  /** The API key's id. */
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
};

/** Writes one audit entry as agate_app in the tenant (row-level security checks the tenant). */
export async function recordAudit(pool: Pool, entry: AuditEntry): Promise<void> {
  await withTenant(pool, { tenantId: entry.tenantId }, (tx) =>
    drizzle(tx)
      .insert(auditLog)
      .values({ id: uuidv7(), ...entry }),
  );
}
