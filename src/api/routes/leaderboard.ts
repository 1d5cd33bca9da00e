import { tenantAgate } from '../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { maxLeaderboardLimit, readLeaderboard } from '../../cache/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf } from '../auth.js';
import { defaultRules } from '../default-rules.js';
import { defineRoute } from '../define-route.js';
import { leaderboardSchema, queryIntegerIn } from '../schemas.js';

const boardQuery = z.strictObject({
  limit: queryIntegerIn(1, maxLeaderboardLimit)
    .optional()
    .meta({ description: `1 to ${maxLeaderboardLimit}, default 10` }),
  rules: z.string().min(1).max(100).optional(),
});

/**
 * The tenant's verified leaderboard for a game: only scores a replay of the session's own events
 * reproduced. Served from Redis when it is there (rebuilt when missing), else computed from
 * PostgreSQL.
 */
export function registerLeaderboardRoutes(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/leaderboard',
      operationId: 'readLeaderboard',
      summary: 'The top verified scores of ended sessions, highest first.',
      tag: 'leaderboard',
      access: ['game_server', 'analyst', 'admin'],
      query: boardQuery,
      responses: { 200: { description: 'The leaderboard.', body: leaderboardSchema } },
    },
    async ({ query }, request) => {
      const { tenantId } = principalOf(request);
      const rules = query.rules ?? defaultRules(context.agate.games);
      const entries = await readLeaderboard(
        await tenantAgate(context, request),
        context.redis,
        context.cacheHealth,
        {
          tenantId,
          rules,
          limit: query.limit ?? 10,
        },
      );
      return {
        rules,
        entries: entries.map((e) => ({ rank: e.rank, sessionId: e.sessionId, score: e.score })),
      };
    },
  );
}
