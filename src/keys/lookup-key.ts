import type { Pool } from '../db/index.js';
import { fromPgError } from '../db/index.js';
import { hashKey, looksLikeKey } from './key-secret.js';
import type { ApiKeyPrincipal, ApiKeyRole } from './key-roles.js';

/**
 * The key's id, tenant and role, or undefined for a malformed, unknown or revoked key. One
 * statement in autocommit: admin.find_api_key runs as agate_maintenance (finding the tenant of a
 * key crosses tenants). Only the hash is compared, by an index lookup, so the secret never
 * reaches the database. Nothing is cached: a revoked key fails on its next request.
 */
export async function lookupKey(pool: Pool, key: string): Promise<ApiKeyPrincipal | undefined> {
  if (!looksLikeKey(key)) return undefined;
  try {
    const result = await pool.query<{ id: string; tenant_id: string; role: string }>(
      'SELECT id, tenant_id, role FROM admin.find_api_key($1)',
      [hashKey(key)],
    );
    const row = result.rows[0];
    return row && { id: row.id, tenantId: row.tenant_id, role: row.role as ApiKeyRole };
  } catch (error) {
    throw fromPgError(error);
  }
}
