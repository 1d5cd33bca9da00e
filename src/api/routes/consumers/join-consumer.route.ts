import { tenantAgate } from '../../tenant-agate.js';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { joinConsumer } from '../../../feed/index.js';
import { formatFeedPosition } from '../../../events/index.js';
import type { ApiContext } from '../../api-context.js';
import { defineRoute } from '../../define-route.js';
import { consumerCaller, consumerUsers } from './consumer-json.js';
import { consumerParams, joinBody, membershipSchema } from './consumer-schemas.js';

const defaultLeaseMs = 30_000;

/** Joins a consumer's group, or heartbeats: renews the lease and rebalances the slots. */
export function registerJoinConsumerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/consumers/:name/members',
      operationId: 'joinConsumer',
      summary:
        'Join the consumer’s group or heartbeat (call it again well within leaseMs): renews the lease, gives up slots above a fair share and claims free or expired ones, each claim with a new epoch.',
      tag: 'consumers',
      access: consumerUsers,
      params: consumerParams,
      body: joinBody,
      bodyOptional: true,
      responses: {
        200: { description: 'The slots the member holds now.', body: membershipSchema },
      },
    },
    async ({ params, body }, request) => {
      const { pool } = await tenantAgate(context, request);
      const leaseMs = body?.leaseMs ?? defaultLeaseMs;
      const started = Date.now();
      const membership = await joinConsumer(pool, {
        ...consumerCaller(request),
        name: params.name,
        member: body?.member ?? `http-${randomUUID()}`,
        leaseMs,
      });
      return {
        member: membership.member,
        slotCount: membership.slotCount,
        slots: membership.slots.map((s) => ({
          slot: s.slot,
          epoch: s.epoch,
          checkpoint: formatFeedPosition(s.checkpoint),
        })),
        leaseMs,
        expiresAt: new Date(started + leaseMs).toISOString(),
      };
    },
  );
}
