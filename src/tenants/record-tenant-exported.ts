import { recordAudit } from '../db/index.js';
import type { Pool } from '../db/index.js';
import type { Placement } from '../placements/index.js';
import type { TenantExportCounts } from './export-tenant.js';

export type TenantExportedAudit = {
  tenantId: string;
  placement: Placement;
  /** `cli`: only the command line exports a tenant. */
  actor: string;
  counts: TenantExportCounts;
};

/**
 * The audit entry of a tenant export (`tenant.exported`, its subject the tenant): the counts of
 * each kind, never a row. Written in the tenant's placement database, where its other entries
 * are, once the export is complete (an export that failed half way is not one).
 */
export function recordTenantExported(pool: Pool, entry: TenantExportedAudit): Promise<void> {
  return recordAudit(pool, {
    tenantId: entry.tenantId,
    actor: entry.actor,
    action: 'tenant.exported',
    subject: entry.tenantId,
    details: { placement: entry.placement, counts: entry.counts },
  });
}
