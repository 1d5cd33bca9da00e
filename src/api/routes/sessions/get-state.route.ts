import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { currentState } from '../../../cache/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf, readRoleOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { idParams, stateSchema } from '../../schemas.js';
import { sessionReaders } from './session-readers.js';

/** A session's current state, from the hot cache or a replay (`currentState`). */
export function registerGetStateRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/sessions/:id/state',
      operationId: 'getState',
      summary: 'The state after the last event (hot cache, or the newest snapshot plus the tail).',
      tag: 'sessions',
      access: sessionReaders,
      params: idParams,
      responses: { 200: { description: 'The current state.', body: stateSchema } },
    },
    async ({ params }, request) => {
      const agate = await tenantAgate(context, request);
      const principal = principalOf(request);
      const state = await currentState(agate, context.redis, context.cacheHealth, {
        tenantId: principal.tenantId,
        sessionId: params.id,
        role: readRoleOf(principal),
      });
      return { sequence: state.sequence, stateHash: state.stateHash, state: state.state };
    },
  );
}
