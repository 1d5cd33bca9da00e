import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import type { Session } from '../../../events/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf, readRoleOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { idParams, sessionSchema } from '../../schemas.js';
import { sessionReaders } from './session-readers.js';

function sessionJson(session: Session): Record<string, unknown> {
  return {
    id: session.id,
    playerId: session.playerId,
    rules: session.rules,
    rulesVersion: session.rulesVersion,
    seed: session.seed,
    config: session.config,
    status: session.status,
    lastSequence: session.lastSequence,
    headHash: session.headHash,
    firstEventAt: session.firstEventAt,
    lastEventAt: session.lastEventAt,
    endedAt: session.endedAt,
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
    writtenBy: session.writtenBy,
  };
}

/** A session as its tenant's readers see it. */
export function registerGetSessionRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/sessions/:id',
      operationId: 'getSession',
      summary: 'A session: status, last sequence, head hash, times.',
      tag: 'sessions',
      access: sessionReaders,
      params: idParams,
      responses: { 200: { description: 'The session.', body: sessionSchema } },
    },
    async ({ params }, request) => {
      const agate = await tenantAgate(context, request);
      const principal = principalOf(request);
      const session = await agate.store.getSession({
        tenantId: principal.tenantId,
        sessionId: params.id,
        role: readRoleOf(principal),
      });
      return sessionJson(session);
    },
  );
}
