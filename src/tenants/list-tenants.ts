import { asc } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { tenants, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { storedSetting } from '../keys/index.js';
import type { Tenant } from './create-tenant.js';

/** Every tenant, oldest first; as agate_maintenance, since listing them crosses tenants. */
export async function listTenants(pool: Pool): Promise<Tenant[]> {
  const rows = await withMaintenance(pool, (tx) =>
    drizzle(tx)
      .select({
        id: tenants.id,
        name: tenants.name,
        createdAt: tenants.createdAt,
        perSecond: tenants.rateLimitPerSecond,
        burst: tenants.rateLimitBurst,
      })
      .from(tenants)
      .orderBy(asc(tenants.createdAt), asc(tenants.id)),
  );
  return rows.map(({ perSecond, burst, ...tenant }) => ({
    ...tenant,
    rateLimit: storedSetting(perSecond, burst),
  }));
}
