import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiKeyRoles, createKey } from '../../../keys/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { createdKeySchema, storableText } from '../../schemas.js';

const createKeyBody = z
  .strictObject({
    role: z.enum(apiKeyRoles),
    label: storableText(200).min(1).optional(),
  })
  .meta({ id: 'CreateApiKey' });

/** A key in the admin's own tenant; audited with the key. */
export function registerCreateApiKeyRoute(app: FastifyInstance, context: ApiContext): void {
  const { pool } = context.agate;

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/api-keys',
      operationId: 'createApiKey',
      summary: 'Create an API key in this tenant; the key is shown only in this response.',
      tag: 'admin',
      access: ['admin'],
      body: createKeyBody,
      responses: { 201: { description: 'The new key.', body: createdKeySchema } },
    },
    async ({ body }, request, reply) => {
      const admin = principalOf(request);
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
    },
  );
}
