import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AgateError } from '../../../errors/index.js';
import { databaseNamePattern } from '../../../placements/index.js';
import { createPlacedTenant } from '../../../tenants/index.js';
import type { ApiContext } from '../../api-context.js';
import { operatorOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { createdKeySchema, rateLimitSchema, storableText, time, uuid } from '../../schemas.js';

const placementSchema = z
  .string()
  .refine(
    (text) =>
      text === 'shared' ||
      (text.startsWith('database:') && databaseNamePattern.test(text.slice(9))),
    {
      message:
        'must be "shared" or "database:<name>" (1 to 40 lower-case letters, digits or _, starting with a letter)',
    },
  )
  .meta({
    description: 'Where a tenant’s data lives (shared, or database:<name>).',
    example: 'database:eu1',
  });

const createTenantBody = z
  .strictObject({
    name: storableText(200).trim().min(1),
    rateLimit: rateLimitSchema.optional().meta({
      description: 'The limit of its keys without their own; absent: the server’s.',
    }),
    placement: placementSchema.optional().meta({
      description:
        'Where its data lives: `shared` (default) or `database:<name>`, a server this API is configured with (AGATE_DATABASE_URL_<NAME>).',
    }),
  })
  .meta({ id: 'CreateTenant' });

const createdTenantSchema = z
  .object({
    id: uuid,
    name: z.string(),
    createdAt: time,
    rateLimit: rateLimitSchema
      .nullable()
      .meta({ description: 'The limit of its keys without their own; null: the server’s.' }),
    placement: placementSchema,
    adminKey: createdKeySchema,
  })
  .meta({ id: 'CreatedTenant' });

/** A tenant and its first admin key, for operator keys (ADR 0014); audited with the tenant. */
export function registerCreateTenantRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/tenants',
      operationId: 'createTenant',
      summary:
        'Create a tenant and its first admin key (shown only in this response); needs an operator key.',
      tag: 'admin',
      access: ['operator'],
      body: createTenantBody,
      responses: {
        201: { description: 'The tenant and its admin key.', body: createdTenantSchema },
      },
    },
    async ({ body }, request, reply) => {
      const operator = operatorOf(request);
      const tenant = await createPlacedTenant(context.placements, {
        name: body.name,
        rateLimit: body.rateLimit,
        placement: body.placement,
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
        rateLimit: tenant.rateLimit,
        placement: tenant.placement,
        adminKey: {
          id: key.id,
          key: key.key,
          role: key.role,
          label: key.label,
          rateLimit: key.rateLimit,
        },
      });
    },
  );
}
