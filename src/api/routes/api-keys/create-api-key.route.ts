import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AgateError } from '../../../errors/index.js';
import { apiKeyRoles, createKey } from '../../../keys/index.js';
import type { RateLimitSetting } from '../../../keys/index.js';
import { readTenantRateLimit } from '../../../tenants/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { createdKeySchema, rateLimitSchema, storableText } from '../../schemas.js';

const createKeyBody = z
  .strictObject({
    role: z.enum(apiKeyRoles),
    label: storableText(200).min(1).optional(),
    rateLimit: rateLimitSchema.optional().meta({
      description:
        'The key’s own limit, at most the one it would inherit (its tenant’s, else the server’s); absent: it inherits.',
    }),
  })
  .meta({ id: 'CreateApiKey' });

/**
 * An admin may give a key a lower limit than the one it would inherit, never a higher one: the
 * tenant's limit is the operator's to set (agate tenants limit).
 */
function refuseRaisedLimit(asked: RateLimitSetting, inherited: RateLimitSetting | null): void {
  if (inherited === null) return;
  if (asked.perSecond <= inherited.perSecond && asked.burst <= inherited.burst) return;
  throw new AgateError(
    'forbidden',
    `An admin key may set a key's rate limit only at or below the one it would inherit (${inherited.perSecond} per second, bursts of ${inherited.burst}); nothing was created. Ask the operator to raise the tenant's limit (agate tenants limit).`,
  );
}

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
      if (body.rateLimit !== undefined) {
        const inherited = (await readTenantRateLimit(pool, admin.tenantId)) ?? context.rateLimit;
        refuseRaisedLimit(body.rateLimit, inherited);
      }
      const created = await createKey(pool, {
        tenantId: admin.tenantId,
        role: body.role,
        label: body.label,
        rateLimit: body.rateLimit,
        actor: admin.id,
      });
      void reply.header('cache-control', 'no-store');
      return reply.code(201).send({
        id: created.id,
        key: created.key,
        role: created.role,
        label: created.label,
        rateLimit: created.rateLimit,
      });
    },
  );
}
