// The SQL of admin.tenant_placements (migration 0017), in the control plane's database.
// Invariants: run as agate_maintenance (the table has no policy: no other role sees a row); a
// tenant has one row, inserted with the tenant by the place_new_tenant trigger.
import type { Queryable } from '../db/index.js';

/** The stored placement text of `tenantId`, or undefined when there is no such tenant. */
export async function selectPlacement(
  executor: Queryable,
  tenantId: string,
): Promise<string | undefined> {
  const result = await executor.query<{ placement: string }>(
    'SELECT placement FROM admin.tenant_placements WHERE tenant_id = $1',
    [tenantId],
  );
  return result.rows[0]?.placement;
}

/** Points `tenantId`'s row at `placement`, in the caller's transaction. */
export async function updatePlacement(
  tx: Queryable,
  tenantId: string,
  placement: string,
): Promise<void> {
  await tx.query(
    'UPDATE admin.tenant_placements SET placement = $2, updated_at = now() WHERE tenant_id = $1',
    [tenantId, placement],
  );
}
