import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { parseFeedPosition } from '../../../events/index.js';
import { checkpointConsumer } from '../../../feed/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { consumerCaller, consumerUsers } from './consumer-json.js';
import { checkpointBody, consumerParams } from './consumer-schemas.js';

/** The fenced checkpoint of a receive's slots: written only by their owner under its epochs. */
export function registerCommitCheckpointRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/consumers/:name/checkpoints',
      operationId: 'commitConsumerCheckpoint',
      summary:
        'Checkpoint a receive once its events are handled: the slots move forward to `position` (never back) and their lease is renewed. 409 lease_lost when any slot is no longer the member’s under that epoch; then nothing is written: join again and receive.',
      tag: 'consumers',
      access: consumerUsers,
      params: consumerParams,
      body: checkpointBody,
      responses: { 204: { description: 'Checkpointed.' } },
    },
    async ({ params, body }, request, reply) => {
      const { pool } = await tenantAgate(context, request);
      await checkpointConsumer(pool, {
        ...consumerCaller(request),
        name: params.name,
        member: body.member,
        slots: body.slots,
        position: parseFeedPosition(body.position, 'position'),
        leaseMs: body.leaseMs,
      });
      return reply.code(204).send();
    },
  );
}
