import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { keyWriter } from '../../events/index.js';
import type { NewEvent } from '../../events/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf, readRoleOf } from '../auth.js';
import { defineRoute } from '../define-route.js';
import { measureAppend } from '../metrics.js';
import {
  appendResultSchema,
  eventPageSchema,
  idParams,
  queryInteger,
  queryIntegerIn,
} from '../schemas.js';
import { sendAppendResult } from '../send-append-result.js';

/** The append body; the batch size limit is the store's, so the document states this server's. */
function appendBody(maxBatchEvents: number) {
  return z
    .strictObject({
      expectedSequence: z.number().int().min(0).optional(),
      // Each event is checked by the store against its registered type (invalid_event,
      // events[i]), and so is the batch size (400 when empty, 413 batch_too_large when over), so
      // that the error names the event; the document shows the shape the store expects.
      events: z
        .array(z.unknown().meta({ $ref: '#/components/schemas/NewEvent' }))
        .meta({ minItems: 1, maxItems: maxBatchEvents }),
    })
    .meta({ id: 'AppendEvents' });
}

const pageQuery = z.strictObject({
  after: queryInteger.optional(),
  limit: queryIntegerIn(1)
    .optional()
    .meta({ description: 'Events per page (default 100); at most 1,000 are sent.' }),
});

export function registerEventRoutes(app: FastifyInstance, context: ApiContext): void {
  const { store } = context.agate;
  const tag = 'events';

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/sessions/:id/events',
      operationId: 'appendEvents',
      summary:
        'Append a batch atomically; with expectedSequence, only if the session is still there.',
      tag,
      access: ['game_server'],
      params: idParams,
      body: appendBody(store.deps.limits.maxBatchEvents),
      responses: {
        201: { description: 'The batch was stored.', body: appendResultSchema },
        200: {
          description: 'The whole batch was stored before (a retry).',
          body: appendResultSchema,
        },
      },
    },
    async ({ params, body }, request, reply) => {
      const { tenantId, id: keyId } = principalOf(request);
      const result = await measureAppend(context.metrics, () =>
        store.appendEvents({
          tenantId,
          writtenBy: keyWriter(keyId),
          sessionId: params.id,
          expectedSequence: body.expectedSequence,
          events: body.events as NewEvent[],
        }),
      );
      return sendAppendResult(reply, result);
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/sessions/:id/events',
      operationId: 'readEvents',
      summary: 'A page of events in sequence order after `after`; follow nextAfter until null.',
      tag,
      access: ['game_server', 'analyst', 'admin'],
      params: idParams,
      query: pageQuery,
      responses: { 200: { description: 'A page of events.', body: eventPageSchema } },
    },
    async ({ params, query }, request) => {
      const principal = principalOf(request);
      return store.readEvents({
        tenantId: principal.tenantId,
        sessionId: params.id,
        role: readRoleOf(principal),
        after: query.after,
        limit: query.limit,
      });
    },
  );
}
