import type { Pool } from '../db/index.js';
import { fromPgError } from '../db/index.js';
import type { KeyCache } from './key-cache.js';
import { hashKey, keyKindOf } from './key-secret.js';
import type { ApiKeyPrincipal, ApiKeyRole, KeyPrincipal } from './key-roles.js';

/**
 * The key's id, tenant, role and stored rate limit (or, for an operator key, its id and role
 * `operator`), or undefined for a malformed, unknown or revoked key. One statement in
 * autocommit, chosen by the key's prefix: admin.find_api_key or admin.find_operator_key (each
 * defined in `migrations/repeatable/`), each running as agate_maintenance (finding the tenant of
 * a key crosses tenants). Only the hash is compared, by an index lookup, so the secret never
 * reaches the database. With a `cache`, a live key found before is answered from it, limit and
 * all (see `createKeyCache` for how long a revoked key or a changed limit can still be
 * answered); without one, a revoked key fails on its next request.
 */
export async function lookupKey(
  pool: Pool,
  key: string,
  cache?: KeyCache,
): Promise<KeyPrincipal | undefined> {
  const kind = keyKindOf(key);
  if (kind === undefined) return undefined;
  if (cache === undefined) return findKey(pool, key, kind);
  const hash = hashKey(key).toString('hex');
  const cached = cache.get(hash);
  if (cached !== undefined) return cached;
  const since = cache.generation();
  const found = await findKey(pool, key, kind);
  if (found !== undefined) cache.set(hash, found, since);
  return found;
}

type KeyRow = {
  id: string;
  tenant_id: string;
  role: string;
  rate_limit_per_second: number | null;
  rate_limit_burst: number | null;
  rate_limit_source: 'key' | 'tenant' | null;
};

function principalOf(row: KeyRow): ApiKeyPrincipal {
  const { rate_limit_per_second: perSecond, rate_limit_burst: burst } = row;
  const source = row.rate_limit_source;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    // api_keys_role_check holds role to the tenant roles.
    role: row.role as ApiKeyRole,
    rateLimit:
      source === null || perSecond === null || burst === null ? null : { perSecond, burst, source },
  };
}

async function findKey(
  pool: Pool,
  key: string,
  kind: 'tenant' | 'operator',
): Promise<KeyPrincipal | undefined> {
  try {
    if (kind === 'operator') {
      const result = await pool.query<{ id: string }>(
        'SELECT id FROM admin.find_operator_key($1)',
        [hashKey(key)],
      );
      const row = result.rows[0];
      return row && { id: row.id, role: 'operator' };
    }
    const result = await pool.query<KeyRow>(
      `SELECT id, tenant_id, role, rate_limit_per_second, rate_limit_burst, rate_limit_source
         FROM admin.find_api_key($1)`,
      [hashKey(key)],
    );
    const row = result.rows[0];
    return row && principalOf(row);
  } catch (error) {
    throw fromPgError(error);
  }
}
