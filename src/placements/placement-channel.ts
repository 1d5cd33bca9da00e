import type { Queryable } from '../db/index.js';

/**
 * The control plane's channel for placement changes: a move that switched a tenant's placement
 * sends the tenant id here (ADR 0034), and every process holding a placement router forgets what
 * it remembered of that tenant.
 */
export const placementChannel = 'agate_placements';

/** Tells every listening process that `tenantId`'s placement changed (after the commit). */
export async function announcePlacementChange(db: Queryable, tenantId: string): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [placementChannel, tenantId]);
}
