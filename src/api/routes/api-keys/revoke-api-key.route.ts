import type { FastifyInstance } from 'fastify';
import { AgateError } from '../../../errors/index.js';
import { revokeKey } from '../../../keys/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { idParams } from '../../schemas.js';

/** Revokes a key of the admin's own tenant; audited with the revocation. */
export function registerRevokeApiKeyRoute(app: FastifyInstance, context: ApiContext): void {
  const { pool } = context.agate;

  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/v1/api-keys/:id',
      operationId: 'revokeApiKey',
      summary:
        'Revoke an API key of this tenant; every server refuses it once it hears agate_keys, within AGATE_KEY_CACHE_MS in any case.',
      tag: 'admin',
      access: ['admin'],
      params: idParams,
      responses: { 204: { description: 'Revoked.' } },
    },
    async ({ params }, request, reply) => {
      const admin = principalOf(request);
      const revoked = await revokeKey(pool, {
        id: params.id,
        tenantId: admin.tenantId,
        actor: admin.id,
      });
      if (revoked === undefined) {
        throw new AgateError('not_found', `No API key ${params.id} in this tenant.`);
      }
      return reply.code(204).send();
    },
  );
}
