import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AgateError } from '../../errors/index.js';
import { apiKeyRoles, createKey, revokeKey } from '../../keys/index.js';
import { createTenant } from '../../tenants/index.js';
import type { ApiContext } from '../api-context.js';
import { operatorOf, principalOf } from '../auth.js';
import { defineRoute } from '../define-route.js';
import { createdKeySchema, idParams, storableText, time, uuid } from '../schemas.js';

const createKeyBody = z
  .strictObject({
    role: z.enum(apiKeyRoles),
    label: storableText(200).min(1).optional(),
  })
  .meta({ id: 'CreateApiKey' });

const createTenantBody = z
  .strictObject({ name: storableText(200).trim().min(1) })
  .meta({ id: 'CreateTenant' });

const createdTenantSchema = z
  .object({
    id: uuid,
    name: z.string(),
    createdAt: time,
    adminKey: createdKeySchema,
  })
  .meta({ id: 'CreatedTenant' });

/**
 * Tenants, for operator keys (ADR 0014), and keys, for admins. Each change is written to the
 * audit log (actor: the operator or admin key's id) in the same transaction as the change. Keys
 * are managed in the admin's own tenant only; a tenant admin can never create a tenant.
 */
export function registerApiKeyRoutes(app: FastifyInstance, context: ApiContext): void {
  const { pool } = context.agate;
  const tag = 'admin';

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/tenants',
      operationId: 'createTenant',
      summary:
        'Create a tenant and its first admin key (shown only in this response); needs an operator key.',
      tag,
      access: ['operator'],
      body: createTenantBody,
      responses: {
        201: { description: 'The tenant and its admin key.', body: createdTenantSchema },
      },
    },
    async ({ body }, request, reply) => {
      const operator = operatorOf(request);
      const tenant = await createTenant(pool, {
        name: body.name,
        actor: operator.id,
        adminKey: true,
      });
      const key = tenant.adminKey;
      if (key === null) throw new AgateError('internal', 'The tenant was created without its key.');
      void reply.header('cache-control', 'no-store');
      return reply.code(201).send({
        id: tenant.id,
        name: tenant.name,
        createdAt: tenant.createdAt,
        adminKey: { id: key.id, key: key.key, role: key.role, label: key.label },
      });
    },
  );

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/api-keys',
      operationId: 'createApiKey',
      summary: 'Create an API key in this tenant; the key is shown only in this response.',
      tag,
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

  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/v1/api-keys/:id',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key of this tenant; it stops working at once.',
      tag,
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
