import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../../api-context.js';
import { registerCreateApiKeyRoute } from './create-api-key.route.js';
import { registerCreateTenantRoute } from './create-tenant.route.js';
import { registerRevokeApiKeyRoute } from './revoke-api-key.route.js';

/**
 * Tenants, for operator keys (ADR 0014), and keys, for admins. Each change is written to the
 * audit log (actor: the operator or admin key's id) in the same transaction as the change. Keys
 * are managed in the admin's own tenant only; a tenant admin can never create a tenant.
 */
export function registerApiKeyRoutes(app: FastifyInstance, context: ApiContext): void {
  registerCreateTenantRoute(app, context);
  registerCreateApiKeyRoute(app, context);
  registerRevokeApiKeyRoute(app, context);
}
