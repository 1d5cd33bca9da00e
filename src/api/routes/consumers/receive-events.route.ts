import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { formatFeedPosition } from '../../../events/index.js';
import { readMembership, receiveEvents } from '../../../feed/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { feedEventJson } from '../feed/index.js';
import { consumerCaller, consumerUsers } from './consumer-json.js';
import { consumerParams, receivedSchema, receiveQuery } from './consumer-schemas.js';

/** The next events of the member's slots after their checkpoints; reads only. */
export function registerReceiveEventsRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/consumers/:name/events',
      operationId: 'receiveConsumerEvents',
      summary:
        'The next events of the slots the member holds, after their checkpoints, in feed order (one session’s in sequence order). Reads only: handle them, then checkpoint `through` with `slots`.',
      tag: 'consumers',
      access: consumerUsers,
      params: consumerParams,
      query: receiveQuery,
      responses: {
        200: { description: 'The events and what to checkpoint.', body: receivedSchema },
      },
    },
    async ({ params, query }, request) => {
      const { pool } = await tenantAgate(context, request);
      const caller = consumerCaller(request);
      const membership = await readMembership(pool, {
        ...caller,
        name: params.name,
        member: query.member,
      });
      const received = await receiveEvents(pool, membership, {
        limit: query.limit,
        role: caller.role,
      });
      return {
        events: received.events.map(feedEventJson),
        slots: membership.slots.map((s) => ({ slot: s.slot, epoch: s.epoch })),
        through: received.through === null ? null : formatFeedPosition(received.through),
        held: received.held,
      };
    },
  );
}
