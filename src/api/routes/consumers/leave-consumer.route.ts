import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { leaveConsumer } from '../../../feed/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { consumerCaller, consumerUsers } from './consumer-json.js';
import { memberParams } from './consumer-schemas.js';

/** Leaves the group: the member's slots are free at once for the others' next join. */
export function registerLeaveConsumerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/v1/consumers/:name/members/:member',
      operationId: 'leaveConsumer',
      summary:
        'Leave the consumer’s group: the member’s slots are free at once and the other members claim them on their next heartbeat. Leaving twice is no error.',
      tag: 'consumers',
      access: consumerUsers,
      params: memberParams,
      responses: { 204: { description: 'Left.' } },
    },
    async ({ params }, request, reply) => {
      const { pool } = await tenantAgate(context, request);
      await leaveConsumer(pool, {
        ...consumerCaller(request),
        name: params.name,
        member: params.member,
      });
      return reply.code(204).send();
    },
  );
}
