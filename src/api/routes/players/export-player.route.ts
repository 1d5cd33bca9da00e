import { readTenantCaughtUp } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { exportPlayer, recordPlayerExported } from '../../../players/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf, readRoleOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { idParams, sessionSchema, storedEventSchema, time, uuid } from '../../schemas.js';

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

/** A player's export, for admins: never cached, audited (`player.exported`) before it is sent. */
export function registerExportPlayerRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/players/:id/export',
      operationId: 'exportPlayer',
      summary:
        'Everything held about a player: the row with its PII, its sessions, their events, and the audit entries about it.',
      tag: 'players',
      access: ['admin'],
      params: idParams,
      responses: {
        200: {
          description:
            'The export (cache-control: no-store); x-agate-read-from says whether the replica or the primary served it.',
          body: playerExportSchema,
        },
      },
    },
    async ({ params }, request, reply) => {
      const principal = principalOf(request);
      // From the placement's replica once it has everything committed before now (ADR 0033).
      const { value: exported, primary } = await readTenantCaughtUp(
        context,
        request,
        reply,
        (reader) =>
          exportPlayer(reader.pool, {
            tenantId: principal.tenantId,
            playerId: params.id,
            role: readRoleOf(principal),
          }),
      );
      await recordPlayerExported(primary.pool, {
        tenantId: principal.tenantId,
        actor: principal.id,
        exported,
      });
      void reply.header('cache-control', 'no-store');
      return exported;
    },
  );
}
