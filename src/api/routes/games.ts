import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AgateError } from '../../errors/index.js';
import type { ApiContext } from '../api-context.js';
import { defineRoute } from '../define-route.js';
import { gameJson, gameListSchema, gameSchema, gamesInOrder } from '../game-schemas.js';
import { queryIntegerIn } from '../schemas.js';

const readers = ['game_server', 'analyst', 'admin'] as const;

const gameParams = z.strictObject({
  rules: z.string().min(1).max(100),
  version: queryIntegerIn(1),
});

/**
 * The event-type catalog: the games this server runs (its GameCatalog, plug-ins included) with
 * the JSON Schema of every event type and version, for any key of a tenant. The same for every
 * tenant: it describes the server, not the tenant's data.
 */
export function registerGameRoutes(app: FastifyInstance, context: ApiContext): void {
  const { games } = context.agate;
  const tag = 'games';
  // The catalog is fixed for the server's life: convert its schemas once.
  const all = gamesInOrder(games).map((rules) => gameJson(games, rules));

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/games',
      operationId: 'listGames',
      summary:
        'The games (rules names and versions) this server runs, with their event types as JSON Schema.',
      tag,
      access: readers,
      responses: {
        200: { description: 'Every game, by name then version.', body: gameListSchema },
      },
    },
    () => ({ games: all }),
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/games/:rules/:version',
      operationId: 'getGame',
      summary: 'One rules version this server runs, with its event types as JSON Schema.',
      tag,
      access: readers,
      params: gameParams,
      responses: {
        200: {
          description: 'The game (404 `not_found` when this server runs no such rules version).',
          body: gameSchema,
        },
      },
    },
    ({ params }) => {
      const found = all.find((g) => g.rules === params.rules && g.version === params.version);
      if (found === undefined) {
        const known = all.map((g) => `${g.rules} v${g.version}`).join(', ');
        throw new AgateError(
          'not_found',
          `This server runs no rules ${params.rules} v${params.version}; it runs ${known} (GET /v1/games lists them).`,
        );
      }
      return found;
    },
  );
}
