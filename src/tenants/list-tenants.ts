import { asc, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { tenants, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { storedSetting } from '../keys/index.js';
import { parsePlacement } from '../placements/index.js';
import type { Placement } from '../placements/index.js';
import type { Tenant } from './create-tenant.js';

/** A tenant with where its data lives (ADR 0032). */
export type ListedTenant = Tenant & { placement: Placement };

/**
 * Every tenant, oldest first; as agate_maintenance, since listing them crosses tenants. With
 * `dataHere`, only those whose data is in this database: in the control plane its `shared`
 * tenants, in a placement server's database every tenant it has a row for (ADR 0032).
 */
export async function listTenants(
  pool: Pool,
  options: { dataHere?: boolean } = {},
): Promise<ListedTenant[]> {
  const placedElsewhere = sql`EXISTS (SELECT 1 FROM admin.tenant_placements p
    WHERE p.tenant_id = ${tenants.id} AND p.placement <> 'shared')`;
  const rows = await withMaintenance(pool, (tx) =>
    drizzle(tx)
      .select({
        id: tenants.id,
        name: tenants.name,
        createdAt: tenants.createdAt,
        perSecond: tenants.rateLimitPerSecond,
        burst: tenants.rateLimitBurst,
        placement: sql<string>`coalesce((SELECT p.placement FROM admin.tenant_placements p
          WHERE p.tenant_id = ${tenants.id}), 'shared')`,
      })
      .from(tenants)
      .where(options.dataHere === true ? sql`NOT ${placedElsewhere}` : undefined)
      .orderBy(asc(tenants.createdAt), asc(tenants.id)),
  );
  return rows.map(({ perSecond, burst, placement, ...tenant }) => ({
    ...tenant,
    rateLimit: storedSetting(perSecond, burst),
    placement: parsePlacement(placement),
  }));
}
