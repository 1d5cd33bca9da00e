import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createPlayer, playerLimits } from '../../../players/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { storableText, uuid } from '../../schemas.js';

const createBody = z
  .strictObject({
    externalRef: storableText(playerLimits.externalRef).min(1).optional(),
    displayName: storableText(playerLimits.displayName).min(1).optional(),
    email: storableText(playerLimits.email).min(3).optional(),
  })
  .meta({ id: 'CreatePlayer', description: 'Every field is PII, kept in public.players only.' });

const createdPlayerSchema = z.object({ id: uuid }).meta({ id: 'CreatedPlayer' });

/** A player, created by a game server or an admin; its fields are PII. */
export function registerCreatePlayerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/players',
      operationId: 'createPlayer',
      summary: 'Create a player; sessions then name it by the returned id (playerId).',
      tag: 'players',
      access: ['game_server', 'admin'],
      body: createBody,
      bodyOptional: true,
      responses: { 201: { description: 'The new player.', body: createdPlayerSchema } },
    },
    async ({ body = {} }, request, reply) => {
      const { pool } = await tenantAgate(context, request);
      const { tenantId } = principalOf(request);
      const player = await createPlayer(pool, { tenantId, ...body });
      return reply.code(201).send({ id: player.id });
    },
  );
}
