import { and, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { apiKeys, auditLog, isUuid, requireTenantId, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';

export type RevokeKeyInput = {
  id: string;
  /** Only a key of this tenant (an admin revoking through the API); any tenant when absent (CLI). */
  tenantId?: string;
  /** Who revokes it, for the audit log: an admin key's id, or `cli`. */
  actor: string;
};

export type RevokedKey = {
  id: string;
  tenantId: string;
  revokedAt: Date;
  /** True when the key was revoked before: nothing changed and nothing was audited. */
  alreadyRevoked: boolean;
};

/**
 * Revokes an API key (idempotent: a revoked key keeps its first revocation time) and records it
 * in the audit log, in one transaction as agate_maintenance. Undefined when no such key exists
 * (in the tenant, when one is given). The next request with the key is refused.
 */
export async function revokeKey(
  pool: Pool,
  input: RevokeKeyInput,
): Promise<RevokedKey | undefined> {
  const tenantId = input.tenantId === undefined ? undefined : requireTenantId(input.tenantId);
  if (!isUuid(input.id)) return undefined;
  const id = input.id.toLowerCase();
  return withMaintenance(pool, async (tx) => {
    const db = drizzle(tx);
    const [found] = await db
      .select({ tenantId: apiKeys.tenantId, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(
        and(
          eq(apiKeys.id, id),
          tenantId === undefined ? undefined : eq(apiKeys.tenantId, tenantId),
        ),
      )
      .for('update');
    if (found === undefined) return undefined;
    if (found.revokedAt !== null) {
      return { id, tenantId: found.tenantId, revokedAt: found.revokedAt, alreadyRevoked: true };
    }
    const revokedAt = new Date();
    await db.update(apiKeys).set({ revokedAt, updatedAt: revokedAt }).where(eq(apiKeys.id, id));
    await db.insert(auditLog).values({
      id: uuidv7(),
      tenantId: found.tenantId,
      actor: input.actor,
      action: 'api_key.revoked',
      subject: id,
      details: {},
    });
    return { id, tenantId: found.tenantId, revokedAt, alreadyRevoked: false };
  });
}
