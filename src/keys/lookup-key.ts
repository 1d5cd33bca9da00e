import { and, eq, isNull } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { apiKeys, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { hashKey, looksLikeKey } from './key-secret.js';
import type { ApiKeyPrincipal, ApiKeyRole } from './key-roles.js';

/**
 * The key's id, tenant and role, or undefined for a malformed, unknown or revoked key. Runs as
 * agate_maintenance: finding the tenant of a key crosses tenants. Only the hash is compared, by
 * an index lookup, so the secret never reaches the database.
 */
export async function lookupKey(pool: Pool, key: string): Promise<ApiKeyPrincipal | undefined> {
  if (!looksLikeKey(key)) return undefined;
  const keyHash = hashKey(key);
  const rows = await withMaintenance(pool, (tx) =>
    drizzle(tx)
      .select({ id: apiKeys.id, tenantId: apiKeys.tenantId, role: apiKeys.role })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt))),
  );
  const row = rows[0];
  return row && { id: row.id, tenantId: row.tenantId, role: row.role as ApiKeyRole };
}
