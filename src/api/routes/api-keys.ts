import { AgateError } from '../../errors/index.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiKeyRoles, createKey, revokeKey } from '../../keys/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf } from '../auth.js';
import { parseInput } from '../parse-input.js';

const createBody = z.strictObject({
  role: z.enum(apiKeyRoles),
  label: z.string().min(1).max(200).optional(),
});

/**
 * Key management for an admin's own tenant. Each change is written to the audit log (actor: the
 * admin key's id) in the same transaction as the change.
 */
export function registerApiKeyRoutes(app: FastifyInstance, context: ApiContext): void {
  const { pool } = context.agate;

  app.post('/v1/api-keys', { config: { access: ['admin'] } }, async (request, reply) => {
    const admin = principalOf(request);
    const body = parseInput(createBody, request.body, 'body');
    const created = await createKey(pool, {
      tenantId: admin.tenantId,
      role: body.role,
      label: body.label,
      actor: admin.id,
    });
    void reply.header('cache-control', 'no-store');
    return reply.code(201).send({
      id: created.id,
      key: created.key,
      role: created.role,
      label: created.label,
    });
  });

  app.delete<{ Params: { id: string } }>(
    '/v1/api-keys/:id',
    { config: { access: ['admin'] } },
    async (request, reply) => {
      const admin = principalOf(request);
      const revoked = await revokeKey(pool, {
        id: request.params.id,
        tenantId: admin.tenantId,
        actor: admin.id,
      });
      if (revoked === undefined) {
        throw new AgateError('not_found', `No API key ${request.params.id} in this tenant.`);
      }
      return reply.code(204).send();
    },
  );
}
