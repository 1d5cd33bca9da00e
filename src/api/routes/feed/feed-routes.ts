import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../../api-context.js';
import { registerReadFeedRoute } from './read-feed.route.js';

/** The tenant's feed, as JSON pages and as Server-Sent Events. */
export function registerFeedRoutes(app: FastifyInstance, context: ApiContext): void {
  registerReadFeedRoute(app, context);
}
