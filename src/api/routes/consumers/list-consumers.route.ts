import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { listConsumers } from '../../../feed/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { consumerCaller, consumerJson, consumerUsers } from './consumer-json.js';
import { consumerListSchema } from './consumer-schemas.js';

/** Every consumer of the tenant, agate's own included, with slots and live members. */
export function registerListConsumersRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/consumers',
      operationId: 'listConsumers',
      summary:
        'The tenant’s durable consumers (agate’s own under `agate.` included), each with its slots’ checkpoints and leases and its live members.',
      tag: 'consumers',
      access: consumerUsers,
      responses: { 200: { description: 'The consumers, by name.', body: consumerListSchema } },
    },
    async (_input, request) => {
      const { pool } = await tenantAgate(context, request);
      const consumers = await listConsumers(pool, consumerCaller(request));
      return { consumers: consumers.map(consumerJson) };
    },
  );
}
