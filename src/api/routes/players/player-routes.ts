import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../../api-context.js';
import { registerCreatePlayerRoute } from './create-player.route.js';
import { registerErasePlayerRoute } from './erase-player.route.js';
import { registerExportPlayerRoute } from './export-player.route.js';

/**
 * Players: created by game servers (or admins); exported and erased by admins only. An export
 * holds PII, so it is never cached and is audited (`player.exported`, counts only) before it is
 * sent; an erasure is audited in its own transaction (`player.erased`).
 */
export function registerPlayerRoutes(app: FastifyInstance, context: ApiContext): void {
  registerCreatePlayerRoute(app, context);
  registerExportPlayerRoute(app, context);
  registerErasePlayerRoute(app, context);
}
