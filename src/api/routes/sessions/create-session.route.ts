import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { keyWriter, maxSeedLength } from '../../../events/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf } from '../../auth.js';
import { defaultRules } from '../../default-rules.js';
import { defineRoute } from '../../define-route.js';
import { createdSessionSchema, uuid } from '../../schemas.js';

const createBody = z
  .strictObject({
    playerId: uuid
      .meta({ description: 'The id of a player of this tenant (`POST /v1/players`).' })
      .optional(),
    seed: z
      .string()
      .min(1, 'is empty; give at least one character, or leave seed out to get a drawn one')
      .max(maxSeedLength, `is over ${maxSeedLength} characters; use a shorter seed`)
      .meta({
        description:
          'Recorded exactly as given; text without \\u0000 or unpaired surrogates. Drawn (128 random bits, hex) when left out.',
      })
      .optional(),
    rules: z.string().min(1).max(100).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'CreateSession' });

/** A new session for a game server: its seed recorded (drawn when not given), its rules pinned. */
export function registerCreateSessionRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/sessions',
      operationId: 'createSession',
      summary: 'Start a session: its seed is recorded (drawn when not given), its rules pinned.',
      tag: 'sessions',
      access: ['game_server'],
      body: createBody,
      bodyOptional: true,
      responses: { 201: { description: 'The new session.', body: createdSessionSchema } },
    },
    async ({ body = {} }, request, reply) => {
      const agate = await tenantAgate(context, request);
      const { tenantId, id: keyId } = principalOf(request);
      const session = await agate.store.createSession({
        tenantId,
        writtenBy: keyWriter(keyId),
        rules: body.rules ?? defaultRules(agate.games),
        seed: body.seed,
        playerId: body.playerId,
        config: body.config,
      });
      const { id, seed, rules, rulesVersion, lastSequence } = session;
      return reply.code(201).send({ id, seed, rules, rulesVersion, lastSequence });
    },
  );
}
