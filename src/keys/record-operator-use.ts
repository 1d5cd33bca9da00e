import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';

export type OperatorUse = {
  keyId: string;
  /** What was asked: the method and the route's pattern, e.g. `POST /v1/tenants`. */
  request: string;
  requestId: string;
  /** False when the route refused the key (a tenant route): the attempt is recorded too. */
  allowed: boolean;
};

/**
 * Records one use of an operator key in the audit log (no tenant; actor: the key's id; when:
 * occurred_at), committed before the request does anything, so no use goes unrecorded.
 */
export async function recordOperatorUse(pool: Pool, use: OperatorUse): Promise<void> {
  await withMaintenance(pool, (tx) =>
    drizzle(tx)
      .insert(auditLog)
      .values({
        id: uuidv7(),
        tenantId: null,
        actor: use.keyId,
        action: 'operator_key.used',
        subject: use.request,
        details: { requestId: use.requestId, allowed: use.allowed },
      }),
  );
}
