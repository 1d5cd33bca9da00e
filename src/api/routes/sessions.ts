import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { currentState } from '../../cache/index.js';
import { AgateError } from '../../errors/index.js';
import type { Session } from '../../events/index.js';
import type { GameCatalog } from '../../game/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf, readRoleOf } from '../auth.js';
import { parseInput } from '../parse-input.js';
import { sendAppendResult } from './events.js';

type SessionParams = { Params: { id: string } };

const createBody = z
  .strictObject({
    playerId: z.string().optional(),
    seed: z.string().optional(),
    rules: z.string().min(1).max(100).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .optional();

const endBody = z
  .strictObject({
    reason: z.string().max(500).optional(),
    eventId: z.string().optional(),
    expectedSequence: z.number().int().min(0).optional(),
  })
  .optional();

const readers = ['game_server', 'analyst', 'admin'] as const;

/** The game a session plays when the request names none: the only one this server runs. */
function defaultRules(games: GameCatalog): string {
  const names = [...new Set(games.list().map((g) => g.name))];
  const only = names[0];
  if (names.length !== 1 || only === undefined) {
    throw new AgateError(
      'invalid_request',
      `body.rules is required: this server runs ${names.join(', ')}; name one.`,
    );
  }
  return only;
}

export function sessionJson(session: Session): Record<string, unknown> {
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
  };
}

export function registerSessionRoutes(app: FastifyInstance, context: ApiContext): void {
  const { agate } = context;

  app.post('/v1/sessions', { config: { access: ['game_server'] } }, async (request, reply) => {
    const { tenantId } = principalOf(request);
    const body = parseInput(createBody, request.body, 'body') ?? {};
    const session = await agate.store.createSession({
      tenantId,
      rules: body.rules ?? defaultRules(agate.games),
      seed: body.seed,
      playerId: body.playerId,
      config: body.config,
    });
    const { id, seed, rules, rulesVersion, lastSequence } = session;
    return reply.code(201).send({ id, seed, rules, rulesVersion, lastSequence });
  });

  app.get<SessionParams>('/v1/sessions/:id', { config: { access: readers } }, async (request) => {
    const principal = principalOf(request);
    const session = await agate.store.getSession({
      tenantId: principal.tenantId,
      sessionId: request.params.id,
      role: readRoleOf(principal),
    });
    return sessionJson(session);
  });

  app.get<SessionParams>(
    '/v1/sessions/:id/state',
    { config: { access: readers } },
    async (request) => {
      const principal = principalOf(request);
      const state = await currentState(agate, context.redis, context.cacheHealth, {
        tenantId: principal.tenantId,
        sessionId: request.params.id,
        role: readRoleOf(principal),
      });
      return { sequence: state.sequence, stateHash: state.stateHash, state: state.state };
    },
  );

  app.post<SessionParams>(
    '/v1/sessions/:id/end',
    { config: { access: ['game_server'] } },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      const body = parseInput(endBody, request.body, 'body') ?? {};
      const result = await agate.store.endSession({
        tenantId,
        sessionId: request.params.id,
        ...body,
      });
      return sendAppendResult(reply, result);
    },
  );
}
