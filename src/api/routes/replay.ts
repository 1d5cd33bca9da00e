import { readSession, tenantAgate } from '../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { recordReplayed, replayAnswer } from '../../../replay/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf } from '../auth.js';
import { defineRoute } from '../define-route.js';
import { measureReplay } from '../metrics.js';
import { idParams, queryFlag, queryInteger, replaySchema } from '../schemas.js';

const replayQuery = z.strictObject({
  to: queryInteger.optional(),
  minSequence: queryInteger.optional().meta({
    description:
      'Read your writes: the answer includes at least this sequence (the last one your append was told). Where the placement has a replica, it serves the replay once it has replayed that far (waited for briefly), else the primary does; `to` counts as such a sequence too.',
  }),
  from: z.enum(['genesis', 'snapshot']).optional(),
  verify: queryFlag.optional(),
  trace: z
    .enum(['true', 'false', '1', '0', 'state'])
    .transform((v) => (v === 'state' ? 'state' : v === 'true' || v === '1'))
    .optional(),
});

/**
 * Replay for analysts and admins, as agate_analyst (read-only). The audit entry is written before
 * the answer is sent, so no replay result leaves the server unrecorded.
 */
export function registerReplayRoutes(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/sessions/:id/replay',
      operationId: 'replaySession',
      summary:
        'Rebuild a session’s state from its seed and events (to a sequence, from genesis or the nearest snapshot), optionally verifying chain, snapshots and anchors.',
      tag: 'replay',
      access: ['analyst', 'admin'],
      params: idParams,
      query: replayQuery,
      responses: { 200: { description: 'The replayed state.', body: replaySchema } },
    },
    async ({ params, query: { minSequence, ...query } }, request, reply) => {
      const principal = principalOf(request);
      const from = query.verify === true ? 'genesis' : (query.from ?? 'snapshot');
      const need = { sessionId: params.id, minSequence: minSequence ?? query.to };
      const result = await measureReplay(context.metrics, from, () =>
        readSession(context, request, reply, need, (agate) =>
          agate.replay({
            tenantId: principal.tenantId,
            sessionId: params.id,
            role: 'agate_analyst',
            ...query,
          }),
        ),
      );
      // The audit entry is a write: the primary's, wherever the replay ran.
      await recordReplayed((await tenantAgate(context, request)).pool, {
        tenantId: principal.tenantId,
        actor: principal.id,
        query,
        result,
      });
      return replayAnswer(result);
    },
  );
}
