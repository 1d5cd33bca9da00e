import { readSession, tenantAgate } from '../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { eventBatchSchema, keyWriter, verdictModes } from '../../events/index.js';
import type { Limits, NewEvent } from '../../events/index.js';
import type { GameCatalog } from '../../game/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf, readRoleOf } from '../auth.js';
import { defineRoute } from '../define-route.js';
import { typedEvent } from '../game-schemas.js';
import { measureAppend } from '../metrics.js';
import {
  appendResultSchema,
  documentedBy,
  eventPageSchema,
  idParams,
  queryInteger,
  queryIntegerIn,
} from '../schemas.js';
import { sendAppendResult } from '../send-append-result.js';

/**
 * The append body. Each event, and the batch size, is checked by the store (so the refusal names
 * events[i], and counts as a refused append); the document shows this server's limits
 * (`eventBatchSchema`) and, for each event, the typed events of its games.
 */
function appendBody(limits: Limits, games: GameCatalog) {
  const events = z.array(z.unknown()).pipe(z.custom<NewEvent[]>());
  documentedBy.set(events, eventBatchSchema(limits, typedEvent(games)));
  const verdicts = z.enum(verdictModes).optional().meta({
    description:
      'Ask for the rules’ verdict on each event: report stores the batch as without it and answers the verdicts; refuse stores nothing when any event is rejected (409 rules_rejected with the verdicts). Leave it out for a plain append.',
  });
  return z
    .strictObject({ expectedSequence: z.number().int().min(0).optional(), events, verdicts })
    .meta({ id: 'AppendEvents' });
}

const pageQuery = z.strictObject({
  after: queryInteger.optional(),
  limit: queryIntegerIn(1)
    .optional()
    .meta({ description: 'Events per page (default 100); at most 1,000 are sent.' }),
  minSequence: queryInteger.optional().meta({
    description:
      'Read your writes: the session as of at least this sequence (the last one your append was told). Where the placement has a replica, it answers once it has replayed that far (waited for briefly), else the primary does.',
  }),
});

export function registerEventRoutes(app: FastifyInstance, context: ApiContext): void {
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
      body: appendBody(context.agate.store.deps.limits, context.agate.games),
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
      const { store } = await tenantAgate(context, request);
      const result = await measureAppend(context.metrics, () =>
        store.appendEvents({
          tenantId,
          writtenBy: keyWriter(keyId),
          sessionId: params.id,
          expectedSequence: body.expectedSequence,
          events: body.events,
          verdicts: body.verdicts,
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
    async ({ params, query }, request, reply) => {
      const principal = principalOf(request);
      const need = { sessionId: params.id, minSequence: query.minSequence };
      return readSession(context, request, reply, need, ({ store }) =>
        store.readEvents({
          tenantId: principal.tenantId,
          sessionId: params.id,
          role: readRoleOf(principal),
          after: query.after,
          limit: query.limit,
        }),
      );
    },
  );
}
