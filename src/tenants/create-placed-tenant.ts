import { schemaStatus } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { databaseNameOf, databaseUrlVariable, parsePlacement } from '../placements/index.js';
import type { PlacementRouter } from '../placements/index.js';
import { createTenant } from './create-tenant.js';
import type { CreatedTenant, CreateTenantInput } from './create-tenant.js';

/**
 * Creates a tenant on the placement `input.placement` names (default `shared`): the control plane
 * records it and its placement; a `database:` server, which must be configured here and at the
 * control plane's migration, gets the tenant's row first. `invalid_request` for a server this
 * process does not know, `placement_unavailable` for one that does not answer or is behind.
 */
export async function createPlacedTenant(
  router: PlacementRouter,
  input: Omit<CreateTenantInput, 'placement'> & { placement?: unknown },
): Promise<CreatedTenant> {
  const placement = parsePlacement(input.placement ?? 'shared');
  const name = databaseNameOf(placement);
  if (name === null) return createTenant(router.control.pool, { ...input, placement });
  const server = router.all().find((p) => p.placement === placement);
  if (server === undefined) {
    throw new AgateError(
      'invalid_request',
      `No database server ${name} is configured for this process; set ${databaseUrlVariable(name)} (and run agate migrate) before placing tenants there.`,
    );
  }
  const status = await schemaStatus(server.agate.pool).catch((error: unknown) => {
    throw new AgateError(
      'placement_unavailable',
      `Database server ${name} does not answer, so no tenant was created; retry when it does.`,
      { cause: error, details: { placement } },
    );
  });
  if (status.pending.length > 0) {
    throw new AgateError(
      'placement_unavailable',
      `Database server ${name} is at migration ${status.applied} of ${status.expected}, so no tenant was created; run agate migrate first.`,
      { details: { placement } },
    );
  }
  return createTenant(router.control.pool, { ...input, placement }, server.agate.pool);
}
