import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../../api-context.js';
import { registerCreateSessionRoute } from './create-session.route.js';
import { registerEndSessionRoute } from './end-session.route.js';
import { registerGetSessionRoute } from './get-session.route.js';
import { registerGetStateRoute } from './get-state.route.js';
import { registerListSnapshotsRoute } from './list-snapshots.route.js';

/** Sessions: created and ended by game servers, read by every role of the tenant. */
export function registerSessionRoutes(app: FastifyInstance, context: ApiContext): void {
  registerCreateSessionRoute(app, context);
  registerGetSessionRoute(app, context);
  registerGetStateRoute(app, context);
  registerListSnapshotsRoute(app, context);
  registerEndSessionRoute(app, context);
}
