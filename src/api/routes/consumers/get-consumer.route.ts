import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { getConsumer } from '../../../feed/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { consumerCaller, consumerJson, consumerUsers } from './consumer-json.js';
import { consumerParams, consumerSchema } from './consumer-schemas.js';

/** One consumer with its slots and live members (agate's own may be read too). */
export function registerGetConsumerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/consumers/:name',
      operationId: 'getConsumer',
      summary:
        'A durable consumer: its definition, its slots’ checkpoints and leases, its members.',
      tag: 'consumers',
      access: consumerUsers,
      params: consumerParams,
      responses: { 200: { description: 'The consumer.', body: consumerSchema } },
    },
    async ({ params }, request) => {
      const { pool } = await tenantAgate(context, request);
      return consumerJson(
        await getConsumer(pool, { ...consumerCaller(request), name: params.name }),
      );
    },
  );
}
