import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { AgateError } from '../../errors/index.js';
import type { AppendResult, NewEvent } from '../../events/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf, readRoleOf } from '../auth.js';
import { parseInput } from '../parse-input.js';

type SessionParams = { Params: { id: string } };

const appendBody = z.strictObject({
  expectedSequence: z.number().int().min(0).optional(),
  // Each event is checked by the store against its registered type (invalid_event, events[i]).
  events: z.array(z.unknown()),
});

const cursor = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a non-negative integer')
  .transform(Number);
const pageQuery = z.strictObject({ after: cursor.optional(), limit: cursor.optional() });

/** 201 with the sequences, or 200 with the same body when the whole batch was stored before. */
export function sendAppendResult(reply: FastifyReply, result: AppendResult): FastifyReply {
  if (!result.ok) {
    const details =
      result.currentSequence === null ? {} : { currentSequence: result.currentSequence };
    throw new AgateError(result.reason, result.message, { details });
  }
  const body = {
    firstSequence: result.firstSequence,
    lastSequence: result.lastSequence,
    events: result.events,
  };
  return reply.code(result.duplicate ? 200 : 201).send(body);
}

export function registerEventRoutes(app: FastifyInstance, context: ApiContext): void {
  const { store } = context.agate;

  app.post<SessionParams>(
    '/v1/sessions/:id/events',
    { config: { access: ['game_server'] } },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      const body = parseInput(appendBody, request.body, 'body');
      const result = await store.appendEvents({
        tenantId,
        sessionId: request.params.id,
        expectedSequence: body.expectedSequence,
        events: body.events as NewEvent[],
      });
      return sendAppendResult(reply, result);
    },
  );

  app.get<SessionParams>(
    '/v1/sessions/:id/events',
    { config: { access: ['game_server', 'analyst', 'admin'] } },
    async (request) => {
      const principal = principalOf(request);
      const query = parseInput(pageQuery, request.query, 'query');
      return store.readEvents({
        tenantId: principal.tenantId,
        sessionId: request.params.id,
        role: readRoleOf(principal),
        after: query.after,
        limit: query.limit,
      });
    },
  );
}
