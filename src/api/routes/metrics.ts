import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../api-context.js';
import { defineRoute } from '../define-route.js';

/** Requests that matched no route share one label, so probing never grows the series. */
const unmatched = '(unmatched)';

/**
 * `/metrics`: the Prometheus text exposition of this server's registry. Counts every answered
 * request by method, route pattern (never the raw URL, so ids do not become labels) and status.
 */
export function registerMetricsRoutes(app: FastifyInstance, context: ApiContext): void {
  const { registry, httpRequests } = context.metrics;
  app.addHook('onResponse', async (request, reply) => {
    httpRequests.inc({
      method: request.method,
      route: request.is404 ? unmatched : (request.routeOptions.url ?? unmatched),
      status: String(reply.statusCode),
    });
  });

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/metrics',
      operationId: 'metrics',
      summary:
        'Prometheus metrics (text exposition). Public like /healthz: expose it only on the operator’s network, never beyond it.',
      tag: 'operations',
      access: 'public',
      responses: {
        200: {
          description: 'The metrics, in the Prometheus text format 0.0.4.',
          body: z.string(),
          contentType: 'text/plain; version=0.0.4',
        },
      },
    },
    async (_input, _request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
}
