import { isUuid, requireTenantId, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { dropCachedKey } from './key-cache.js';
import { lockKey, markRevoked } from './key-rows.js';

export type RevokeKeyInput = {
  id: string;
  /**
   * Only a key of this tenant (an admin revoking through the API); when absent (the CLI), a key
   * of any tenant or an operator key.
   */
  tenantId?: string;
  /** Who revokes it, for the audit log: an admin key's id, or `cli`. */
  actor: string;
};

export type RevokedKey = {
  id: string;
  /** The key's tenant; null for an operator key. */
  tenantId: string | null;
  revokedAt: Date;
  /** True when the key was revoked before: nothing changed and nothing was audited. */
  alreadyRevoked: boolean;
};

/**
 * Revokes an API key or an operator key (idempotent: a revoked key keeps its first revocation
 * time) and records it in the audit log, in one transaction as agate_maintenance. Undefined
 * when no such key exists (in the tenant, when one is given). The next request with the key is
 * refused by this process; other processes' key caches drop it when they hear `agate_keys`, and
 * within their cache's expiry in any case.
 */
export async function revokeKey(
  pool: Pool,
  input: RevokeKeyInput,
): Promise<RevokedKey | undefined> {
  const tenantId = input.tenantId === undefined ? undefined : requireTenantId(input.tenantId);
  if (!isUuid(input.id)) return undefined;
  const id = input.id.toLowerCase();
  const done = await withMaintenance(pool, async (tx) => {
    const found = await lockKey(tx, id, tenantId);
    if (found === undefined) return undefined;
    const keyTenant = found.kind === 'tenant' ? found.tenantId : null;
    if (found.revokedAt !== null) {
      return { id, tenantId: keyTenant, revokedAt: found.revokedAt, alreadyRevoked: true };
    }
    const revokedAt = new Date();
    await markRevoked(tx, { id, tenantId: keyTenant }, revokedAt, {
      actor: input.actor,
      action: 'revoked',
      details: {},
    });
    return { id, tenantId: keyTenant, revokedAt, alreadyRevoked: false };
  });
  // This process's caches drop it at once; others hear the notification.
  if (done !== undefined) dropCachedKey(id);
  return done;
}
