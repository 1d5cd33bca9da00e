import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../api-context.js';
import { recordAudit } from '../audit.js';
import { principalOf } from '../auth.js';
import { parseInput } from '../parse-input.js';

type SessionParams = { Params: { id: string } };

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const replayQuery = z.strictObject({
  to: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a non-negative integer')
    .transform(Number)
    .optional(),
  from: z.enum(['genesis', 'snapshot']).optional(),
  verify: flag.optional(),
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
  const { agate } = context;

  app.get<SessionParams>(
    '/v1/sessions/:id/replay',
    { config: { access: ['analyst', 'admin'] } },
    async (request) => {
      const principal = principalOf(request);
      const query = parseInput(replayQuery, request.query, 'query');
      const result = await agate.replay({
        tenantId: principal.tenantId,
        sessionId: request.params.id,
        role: 'agate_analyst',
        ...query,
      });
      await recordAudit(agate.pool, {
        tenantId: principal.tenantId,
        actor: principal.id,
        action: 'session.replayed',
        subject: result.sessionId,
        details: {
          query,
          sequence: result.sequence,
          stateHash: result.stateHash,
          verified: result.verified,
          divergences: result.divergences.length,
        },
      });
      return {
        sessionId: result.sessionId,
        rulesVersion: result.rulesVersion,
        sequence: result.sequence,
        stateHash: result.stateHash,
        state: result.state,
        verified: result.verified,
        divergences: result.divergences,
        snapshotUsed: result.snapshotUsed,
        eventsReplayed: result.eventsReplayed,
        ...(result.trace === null ? {} : { trace: result.trace }),
      };
    },
  );
}
