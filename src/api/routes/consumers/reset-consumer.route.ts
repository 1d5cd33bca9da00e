import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { getConsumer, resetConsumer } from '../../../feed/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { consumerCaller, consumerJson, consumerUsers, parseStart } from './consumer-json.js';
import { consumerParams, consumerSchema, resetConsumerBody } from './consumer-schemas.js';

/** Moves every slot's checkpoint and fences the current members. */
export function registerResetConsumerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/consumers/:name/reset',
      operationId: 'resetConsumer',
      summary:
        'Move every slot’s checkpoint to `to` (back or forward); current members are fenced (their next checkpoint is 409 lease_lost) and receive from there after they join again.',
      tag: 'consumers',
      access: consumerUsers,
      params: consumerParams,
      body: resetConsumerBody,
      responses: { 200: { description: 'The consumer after the reset.', body: consumerSchema } },
    },
    async ({ params, body }, request) => {
      const { pool } = await tenantAgate(context, request);
      const caller = consumerCaller(request);
      const to = parseStart(body.to, 'to');
      await resetConsumer(pool, { ...caller, name: params.name, to });
      return consumerJson(await getConsumer(pool, { ...caller, name: params.name }));
    },
  );
}
