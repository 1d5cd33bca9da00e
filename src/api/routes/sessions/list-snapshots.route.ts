import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { listSessionSnapshots } from '../../../events/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf, readRoleOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { idParams, snapshotListSchema } from '../../schemas.js';
import { sessionReaders } from './session-readers.js';

/** A session's snapshots without their states (`listSessionSnapshots`: one transaction with the session). */
export function registerListSnapshotsRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/sessions/:id/snapshots',
      operationId: 'listSnapshots',
      summary: 'The session’s snapshots, newest first, without their states.',
      tag: 'sessions',
      access: sessionReaders,
      params: idParams,
      responses: { 200: { description: 'The snapshots.', body: snapshotListSchema } },
    },
    async ({ params }, request) => {
      const agate = await tenantAgate(context, request);
      const principal = principalOf(request);
      const snapshots = await listSessionSnapshots(agate, {
        tenantId: principal.tenantId,
        sessionId: params.id,
        role: readRoleOf(principal),
      });
      return { snapshots };
    },
  );
}
