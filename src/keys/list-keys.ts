import { asc, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { apiKeys, requireTenantId, tenants, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import type { ApiKeyRole } from './key-roles.js';
import { storedSetting } from './rate-limit-setting.js';
import type { RateLimitSetting } from './rate-limit-setting.js';

/** A key as a listing shows it: never the secret nor its hash. */
export type ListedKey = {
  id: string;
  role: ApiKeyRole | 'operator';
  label: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  /** The key's own rate limit; null inherits (its tenant's, else the server's). */
  rateLimit: RateLimitSetting | null;
};

/** An operator key also says when it was last used: every use is in the audit log. */
export type ListedOperatorKey = ListedKey & { role: 'operator'; lastUsedAt: Date | null };

/** A tenant's keys, oldest first, revoked ones included; `tenant_not_found` for no such tenant. */
export async function listTenantKeys(pool: Pool, tenantId: string): Promise<ListedKey[]> {
  const id = requireTenantId(tenantId);
  return withMaintenance(pool, async (tx) => {
    const db = drizzle(tx);
    const [tenant] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id));
    if (tenant === undefined) {
      throw new AgateError(
        'tenant_not_found',
        `Tenant ${id} does not exist; agate tenants list shows the tenants.`,
      );
    }
    const rows = await db
      .select({
        id: apiKeys.id,
        role: apiKeys.role,
        label: apiKeys.label,
        createdAt: apiKeys.createdAt,
        revokedAt: apiKeys.revokedAt,
        perSecond: apiKeys.rateLimitPerSecond,
        burst: apiKeys.rateLimitBurst,
      })
      .from(apiKeys)
      .where(eq(apiKeys.tenantId, id))
      .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
    // api_keys_role_check holds role to the tenant roles.
    return rows.map(({ perSecond, burst, ...r }) => ({
      ...r,
      role: r.role as ApiKeyRole,
      rateLimit: storedSetting(perSecond, burst),
    }));
  });
}

/** Every operator key, oldest first, revoked ones included, with its last use from the audit log. */
export async function listOperatorKeys(pool: Pool): Promise<ListedOperatorKey[]> {
  return withMaintenance(pool, async (tx) => {
    const result = await tx.query<{
      id: string;
      label: string | null;
      created_at: Date;
      revoked_at: Date | null;
      last_used_at: Date | null;
    }>(
      `SELECT k.id, k.label, k.created_at, k.revoked_at,
              (SELECT max(a.occurred_at) FROM admin.audit_log a
                WHERE a.action = 'operator_key.used' AND a.actor = k.id::text) AS last_used_at
         FROM public.operator_keys k
        ORDER BY k.created_at, k.id`,
    );
    return result.rows.map((r) => ({
      id: r.id,
      role: 'operator',
      label: r.label,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
      // Operator keys have no limit of their own: the server's applies.
      rateLimit: null,
      lastUsedAt: r.last_used_at,
    }));
  });
}
