import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { erasePlayer } from '../../../players/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { idParams, time, uuid } from '../../schemas.js';

const erasedPlayerSchema = z
  .object({
    id: uuid,
    erasedAt: time,
    sessions: z.number().int(),
    alreadyErased: z.boolean(),
  })
  .meta({ id: 'ErasedPlayer' });

/** A player's erasure, for admins: audited (`player.erased`) in its own transaction. */
export function registerErasePlayerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/v1/players/:id',
      operationId: 'erasePlayer',
      summary:
        'Erase a player’s PII (every column marked pii); its sessions and events stay under its id and still replay.',
      tag: 'players',
      access: ['admin'],
      params: idParams,
      responses: {
        200: {
          description:
            'Erased, or erased before (alreadyErased: true, with the first erasure’s time; nothing changed, no second audit entry).',
          body: erasedPlayerSchema,
        },
      },
    },
    async ({ params }, request) => {
      const { pool } = await tenantAgate(context, request);
      const principal = principalOf(request);
      const erased = await erasePlayer(pool, {
        tenantId: principal.tenantId,
        playerId: params.id,
        actor: principal.id,
      });
      return {
        id: erased.id,
        erasedAt: erased.erasedAt,
        sessions: erased.sessions,
        alreadyErased: erased.alreadyErased,
      };
    },
  );
}
