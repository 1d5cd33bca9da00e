import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { currentState } from '../../cache/index.js';
import { AgateError } from '../../errors/index.js';
import { keyWriter, listSessionSnapshots, maxSeedLength } from '../../events/index.js';
import type { Session } from '../../events/index.js';
import type { GameCatalog } from '../../game/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf, readRoleOf } from '../auth.js';
import { defineRoute } from '../define-route.js';
import { measureAppend } from '../metrics.js';
import {
  appendResultSchema,
  createdSessionSchema,
  idParams,
  sessionSchema,
  snapshotListSchema,
  stateSchema,
  uuid,
} from '../schemas.js';
import { sendAppendResult } from './events.js';

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

const endBody = z
  .strictObject({
    reason: z.string().max(500).optional(),
    eventId: uuid.optional(),
    expectedSequence: z.number().int().min(0).optional(),
  })
  .meta({ id: 'EndSession' });

const readers = ['game_server', 'analyst', 'admin'] as const;

/** The game a session plays when the request names none: the only one this server runs. */
export function defaultRules(games: GameCatalog): string {
  const names = [...new Set(games.list().map((g) => g.name))];
  const only = names[0];
  if (names.length !== 1 || only === undefined) {
    throw new AgateError(
      'invalid_request',
      `rules is required: this server runs ${names.join(', ')}; name one.`,
    );
  }
  return only;
}

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

export function registerSessionRoutes(app: FastifyInstance, context: ApiContext): void {
  const { agate } = context;
  const tag = 'sessions';

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/sessions',
      operationId: 'createSession',
      summary: 'Start a session: its seed is recorded (drawn when not given), its rules pinned.',
      tag,
      access: ['game_server'],
      body: createBody,
      bodyOptional: true,
      responses: { 201: { description: 'The new session.', body: createdSessionSchema } },
    },
    async ({ body = {} }, request, reply) => {
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

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/sessions/:id',
      operationId: 'getSession',
      summary: 'A session: status, last sequence, head hash, times.',
      tag,
      access: readers,
      params: idParams,
      responses: { 200: { description: 'The session.', body: sessionSchema } },
    },
    async ({ params }, request) => {
      const principal = principalOf(request);
      const session = await agate.store.getSession({
        tenantId: principal.tenantId,
        sessionId: params.id,
        role: readRoleOf(principal),
      });
      return sessionJson(session);
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/sessions/:id/state',
      operationId: 'getState',
      summary: 'The state after the last event (hot cache, or the newest snapshot plus the tail).',
      tag,
      access: readers,
      params: idParams,
      responses: { 200: { description: 'The current state.', body: stateSchema } },
    },
    async ({ params }, request) => {
      const principal = principalOf(request);
      const state = await currentState(agate, context.redis, context.cacheHealth, {
        tenantId: principal.tenantId,
        sessionId: params.id,
        role: readRoleOf(principal),
      });
      return { sequence: state.sequence, stateHash: state.stateHash, state: state.state };
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/sessions/:id/snapshots',
      operationId: 'listSnapshots',
      summary: 'The session’s snapshots, newest first, without their states.',
      tag,
      access: readers,
      params: idParams,
      responses: { 200: { description: 'The snapshots.', body: snapshotListSchema } },
    },
    async ({ params }, request) => {
      const principal = principalOf(request);
      const snapshots = await listSessionSnapshots(agate, {
        tenantId: principal.tenantId,
        sessionId: params.id,
        role: readRoleOf(principal),
      });
      return { snapshots };
    },
  );

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/sessions/:id/end',
      operationId: 'endSession',
      summary: 'End a session by appending session.ended; a retry with the same eventId is a 200.',
      tag,
      access: ['game_server'],
      params: idParams,
      body: endBody,
      bodyOptional: true,
      responses: {
        201: { description: 'The session.ended event was appended.', body: appendResultSchema },
        200: { description: 'The same end was stored before.', body: appendResultSchema },
      },
    },
    async ({ params, body = {} }, request, reply) => {
      const { tenantId, id: keyId } = principalOf(request);
      const result = await measureAppend(context.metrics, () =>
        agate.store.endSession({
          tenantId,
          sessionId: params.id,
          ...body,
          writtenBy: keyWriter(keyId),
        }),
      );
      return sendAppendResult(reply, result);
    },
  );
}
