import type { Redis } from 'ioredis';
import { AgateError, isAgateError } from '../errors/index.js';
import type { ConsumerDefinition } from '../feed/index.js';
import { sessionEndedV1 } from '../game/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import type { CacheHealth } from './cache-health.js';
import { submitVerifiedScore } from './leaderboard.js';
import { isUsable } from './redis-client.js';

export const leaderboardsConsumerName = 'agate.leaderboards';

function redisDown(redis: Redis, sessionId: string): AgateError {
  return new AgateError(
    'unavailable',
    `Redis is ${redis.status}: the verified score of session ${sessionId} is not on its board yet; it is retried from the feed once Redis answers.`,
  );
}

/**
 * `agate.leaderboards`: puts each ended session on its board, by the verified replay from
 * genesis that `submitVerifiedScore` does (a rejected session stays off). At-least-once: a
 * session submitted twice keeps one entry (ZADD). Redis down is thrown, so the event is
 * delivered again: unlike the hot state, a board that lacks a session does not look stale to its
 * readers. A session that no longer exists is skipped.
 */
export function leaderboardsConsumer(
  deps: ReplayDeps,
  redis: Redis,
  health: CacheHealth,
): ConsumerDefinition {
  return {
    name: leaderboardsConsumerName,
    types: [sessionEndedV1.type],
    mode: 'at-least-once',
    handle: async (events) => {
      for (const event of events) {
        if (!isUsable(redis)) throw redisDown(redis, event.sessionId);
        const ref = { tenantId: event.tenantId, sessionId: event.sessionId };
        try {
          const result = await submitVerifiedScore(deps, redis, health, ref);
          if (result.accepted && !result.stored) throw redisDown(redis, event.sessionId);
        } catch (error) {
          if (!isAgateError(error, 'session_not_found')) throw error;
        }
      }
    },
  };
}
