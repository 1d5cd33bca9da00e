import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { deleteConsumer } from '../../../feed/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { consumerCaller, consumerUsers } from './consumer-json.js';
import { consumerParams } from './consumer-schemas.js';

/** Deletes a consumer with its checkpoints and members; its members' next calls are 404. */
export function registerDeleteConsumerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/v1/consumers/:name',
      operationId: 'deleteConsumer',
      summary:
        'Delete a durable consumer with its checkpoints and members (agate’s own cannot be deleted here).',
      tag: 'consumers',
      access: consumerUsers,
      params: consumerParams,
      responses: { 204: { description: 'Deleted.' } },
    },
    async ({ params }, request, reply) => {
      const { pool } = await tenantAgate(context, request);
      await deleteConsumer(pool, { ...consumerCaller(request), name: params.name });
      return reply.code(204).send();
    },
  );
}
