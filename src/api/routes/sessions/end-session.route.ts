import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { keyWriter } from '../../../events/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { measureAppend } from '../../metrics.js';
import { appendResultSchema, idParams, uuid } from '../../schemas.js';
import { sendAppendResult } from '../../send-append-result.js';

const endBody = z
  .strictObject({
    reason: z.string().max(500).optional(),
    eventId: uuid.optional(),
    expectedSequence: z.number().int().min(0).optional(),
  })
  .meta({ id: 'EndSession' });

/** Ends a session by appending `session.ended`; a retry with the same eventId is a 200. */
export function registerEndSessionRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/sessions/:id/end',
      operationId: 'endSession',
      summary: 'End a session by appending session.ended; a retry with the same eventId is a 200.',
      tag: 'sessions',
      access: ['game_server'],
      params: idParams,
      body: endBody,
      bodyOptional: true,
      responses: {
        201: { description: 'The session.ended event was appended.', body: appendResultSchema },
        200: { description: 'The same end was stored before.', body: appendResultSchema },
      },
    },
    async ({ params, body = {} }, request, reply) => {
      const agate = await tenantAgate(context, request);
      const { tenantId, id: keyId } = principalOf(request);
      const result = await measureAppend(context.metrics, () =>
        agate.store.endSession({
          tenantId,
          sessionId: params.id,
          ...body,
          writtenBy: keyWriter(keyId),
        }),
      );
      return sendAppendResult(reply, result);
    },
  );
}
