// What runs beside the 32 writers in the append-rate rows. "agate's own" is the derived work as
// a server with Redis runs it: snapshots, the Redis hot state and the verified leaderboards.
import { Redis } from 'ioredis';
import {
  createCacheHealth,
  createRedis,
  hotStateAfterAppend,
  leaderboardAfterAppend,
} from '../../src/cache/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { AppendVariant, Beside } from './feed-append-rate.js';
import { notifyingInsideAppends } from './notifying-pool.js';

export type VariantContext = { redisUrl: string; prefix: string };

const nothingToStop = async () => ({ catchUpMs: 0, problems: [] });

function none(): AppendVariant {
  return {
    scenario: 'append-none',
    label: 'append rate, no consumers',
    start: ({ pool }) =>
      Promise.resolve({
        agate: createAgate({ pool, games: defaultGames, snapshots: false }),
        stop: nothingToStop,
      }),
  };
}

function own(ctx: VariantContext): AppendVariant {
  return {
    scenario: 'append-own',
    label: "append rate, agate's own derived work",
    start: ({ pool }) => {
      const health = createCacheHealth();
      const redis: Redis = createRedis(ctx.redisUrl, { keyPrefix: `${ctx.prefix}-own:`, health });
      const deps = { pool, games: defaultGames };
      const agate = createAgate({
        ...deps,
        afterAppend: [
          hotStateAfterAppend(deps, redis, health),
          leaderboardAfterAppend(deps, redis, health),
        ],
      });
      const besides: Beside = {
        agate,
        stop: () => {
          redis.disconnect();
          const problems =
            health.errors > 0
              ? [`append-own: ${health.errors} cache error(s): ${health.lastError}`]
              : [];
          return Promise.resolve({ catchUpMs: 0, problems });
        },
      };
      return Promise.resolve(besides);
    },
  };
}

/** The contrast: no consumers, but each append notifies inside its own transaction. */
function notifyInside(): AppendVariant {
  return {
    scenario: 'append-notify-inside',
    label: 'append rate, NOTIFY inside each append (contrast)',
    start: ({ pool }) =>
      Promise.resolve({
        agate: createAgate({
          pool: notifyingInsideAppends(pool, 'agate_bench_contrast'),
          games: defaultGames,
          snapshots: false,
        }),
        stop: nothingToStop,
      }),
  };
}

export function appendVariants(ctx: VariantContext): AppendVariant[] {
  return [none(), own(ctx), notifyInside()];
}
