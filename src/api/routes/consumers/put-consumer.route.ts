import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { ensureConsumer, getConsumer } from '../../../feed/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { consumerCaller, consumerJson, consumerUsers, parseStart } from './consumer-json.js';
import { consumerParams, consumerSchema, putConsumerBody } from './consumer-schemas.js';

/** Creates a durable consumer, or confirms the one of that name has this definition. */
export function registerPutConsumerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'PUT',
      url: '/v1/consumers/:name',
      operationId: 'putConsumer',
      summary:
        'Create a durable consumer of the tenant’s feed (201), or find the one of that name with the same types and slots (200); another definition under the name is 409 consumer_conflict.',
      tag: 'consumers',
      access: consumerUsers,
      params: consumerParams,
      body: putConsumerBody,
      bodyOptional: true,
      responses: {
        200: { description: 'It existed with this definition.', body: consumerSchema },
        201: { description: 'Created.', body: consumerSchema },
      },
    },
    async ({ params, body }, request, reply) => {
      const { pool } = await tenantAgate(context, request);
      const caller = consumerCaller(request);
      const info = await ensureConsumer(pool, {
        ...caller,
        name: params.name,
        types: body?.types ?? null,
        slots: body?.slots,
        start: body?.start === undefined ? undefined : parseStart(body.start, 'start'),
      });
      const status = await getConsumer(pool, { ...caller, name: info.name });
      return reply.code(info.created ? 201 : 200).send(consumerJson(status));
    },
  );
}
