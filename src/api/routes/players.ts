import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  createPlayer,
  erasePlayer,
  exportPlayer,
  playerLimits,
  recordPlayerExported,
} from '../../players/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf, readRoleOf } from '../auth.js';
import { defineRoute } from '../define-route.js';
import {
  idParams,
  sessionSchema,
  storableText,
  storedEventSchema,
  time,
  uuid,
} from '../schemas.js';

const createBody = z
  .strictObject({
    externalRef: storableText(playerLimits.externalRef).min(1).optional(),
    displayName: storableText(playerLimits.displayName).min(1).optional(),
    email: storableText(playerLimits.email).min(3).optional(),
  })
  .meta({ id: 'CreatePlayer', description: 'Every field is PII, kept in public.players only.' });

const createdPlayerSchema = z.object({ id: uuid }).meta({ id: 'CreatedPlayer' });

const playerSchema = z
  .object({
    id: uuid,
    tenantId: uuid,
    externalRef: z.string().nullable(),
    displayName: z.string().nullable(),
    email: z.string().nullable(),
    createdAt: time,
    updatedAt: time,
    erasedAt: time.nullable(),
  })
  .meta({ id: 'Player', description: 'The PII fields are null once the player is erased.' });

const playerExportSchema = z
  .object({
    player: playerSchema,
    sessions: z.array(sessionSchema.extend({ tenantId: uuid })),
    events: z.array(storedEventSchema),
    auditEntries: z.array(
      z.object({
        id: uuid,
        occurredAt: time,
        actor: z.string(),
        action: z.string(),
        subject: z.string(),
        details: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .meta({ id: 'PlayerExport' });

const erasedPlayerSchema = z
  .object({
    id: uuid,
    erasedAt: time,
    sessions: z.number().int(),
    alreadyErased: z.boolean(),
  })
  .meta({ id: 'ErasedPlayer' });

/**
 * Players: created by game servers (or admins); exported and erased by admins only. An export
 * holds PII, so it is never cached and is audited (`player.exported`, counts only) before it is
 * sent; an erasure is audited in its own transaction (`player.erased`).
 */
export function registerPlayerRoutes(app: FastifyInstance, context: ApiContext): void {
  const { pool } = context.agate;
  const tag = 'players';

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/players',
      operationId: 'createPlayer',
      summary: 'Create a player; sessions then name it by the returned id (playerId).',
      tag,
      access: ['game_server', 'admin'],
      body: createBody,
      bodyOptional: true,
      responses: { 201: { description: 'The new player.', body: createdPlayerSchema } },
    },
    async ({ body = {} }, request, reply) => {
      const { tenantId } = principalOf(request);
      const player = await createPlayer(pool, { tenantId, ...body });
      return reply.code(201).send({ id: player.id });
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/players/:id/export',
      operationId: 'exportPlayer',
      summary:
        'Everything held about a player: the row with its PII, its sessions, their events, and the audit entries about it.',
      tag,
      access: ['admin'],
      params: idParams,
      responses: {
        200: { description: 'The export (cache-control: no-store).', body: playerExportSchema },
      },
    },
    async ({ params }, request, reply) => {
      const principal = principalOf(request);
      const exported = await exportPlayer(pool, {
        tenantId: principal.tenantId,
        playerId: params.id,
        role: readRoleOf(principal),
      });
      await recordPlayerExported(pool, {
        tenantId: principal.tenantId,
        actor: principal.id,
        exported,
      });
      void reply.header('cache-control', 'no-store');
      return exported;
    },
  );

  defineRoute(
    app,
    {
      method: 'DELETE',
      url: '/v1/players/:id',
      operationId: 'erasePlayer',
      summary:
        'Erase a player’s PII (every column marked pii); its sessions and events stay under its id and still replay.',
      tag,
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
