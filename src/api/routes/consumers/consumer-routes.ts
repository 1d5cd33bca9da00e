import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../../api-context.js';
import { registerCommitCheckpointRoute } from './commit-checkpoint.route.js';
import { registerDeleteConsumerRoute } from './delete-consumer.route.js';
import { registerGetConsumerRoute } from './get-consumer.route.js';
import { registerJoinConsumerRoute } from './join-consumer.route.js';
import { registerLeaveConsumerRoute } from './leave-consumer.route.js';
import { registerListConsumersRoute } from './list-consumers.route.js';
import { registerPutConsumerRoute } from './put-consumer.route.js';
import { registerReceiveEventsRoute } from './receive-events.route.js';
import { registerResetConsumerRoute } from './reset-consumer.route.js';

/**
 * Durable consumers and their groups over HTTP, for services not written in TypeScript: define
 * one, join (and heartbeat), receive, checkpoint (fenced by the slots' epochs), leave.
 */
export function registerConsumerRoutes(app: FastifyInstance, context: ApiContext): void {
  registerListConsumersRoute(app, context);
  registerPutConsumerRoute(app, context);
  registerGetConsumerRoute(app, context);
  registerDeleteConsumerRoute(app, context);
  registerResetConsumerRoute(app, context);
  registerJoinConsumerRoute(app, context);
  registerLeaveConsumerRoute(app, context);
  registerReceiveEventsRoute(app, context);
  registerCommitCheckpointRoute(app, context);
}
