import { asc } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { tenants, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import type { Tenant } from './create-tenant.js';

/** Every tenant, oldest first; as agate_maintenance, since listing them crosses tenants. */
export async function listTenants(pool: Pool): Promise<Tenant[]> {
  return withMaintenance(pool, (tx) =>
    drizzle(tx)
      .select({ id: tenants.id, name: tenants.name, createdAt: tenants.createdAt })
      .from(tenants)
      .orderBy(asc(tenants.createdAt), asc(tenants.id)),
  );
}
