import type { Redis } from 'ioredis';
import {
  createCacheHealth,
  createRedis,
  hotStateAfterAppend,
  leaderboardAfterAppend,
} from '../cache/index.js';
import type { CacheHealth } from '../cache/index.js';
import { createPool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { defaultGames } from '../game/index.js';
import { createSnapshotProducer, snapshotQueueHook } from '../jobs/queue/index.js';
import type { SnapshotProducer } from '../jobs/queue/index.js';
import { createAgate } from '../runtime/index.js';
import type { Agate } from '../runtime/index.js';
import { requireDatabaseUrl } from './database-url.js';

export type Opened = {
  agate: Agate;
  url: string;
  /** Present when REDIS_URL is set (and the command did not ask to run inline). */
  redis: {
    url: string;
    prefix: string;
    client: Redis;
    health: CacheHealth;
    producer: SnapshotProducer;
  } | null;
  close: () => Promise<void>;
};

/**
 * The store, replay and snapshots on DATABASE_URL. With REDIS_URL, snapshot work goes to the
 * queue (in process when Redis does not answer) and the hot state is kept in Redis; without it,
 * or with `inline`, everything runs in this process.
 */
export function openAgate(env: NodeJS.ProcessEnv, options: { inline?: boolean } = {}): Opened {
  const url = requireDatabaseUrl(env);
  const pool = createPool({ connectionString: url, applicationName: 'agate cli' });
  const redisUrl = options.inline === true ? undefined : env.REDIS_URL?.trim() || undefined;
  if (redisUrl === undefined) {
    return {
      agate: createAgate({ pool, games: defaultGames }),
      url,
      redis: null,
      close: () => pool.end(),
    };
  }
  const prefix = env.AGATE_QUEUE_PREFIX?.trim() || 'agate';
  const producer = createSnapshotProducer({ url: redisUrl, prefix });
  const health = createCacheHealth();
  const client = createRedis(redisUrl, { health });
  const agate = createAgate({
    pool,
    games: defaultGames,
    snapshots: (a) => snapshotQueueHook(producer, { pool: a.pool, store: a.store, games: a.games }),
    afterAppend: [
      (a) => hotStateAfterAppend(a, client, health),
      (a) => leaderboardAfterAppend(a, client, health),
    ],
  });
  const close = async () => {
    await producer.close();
    client.disconnect();
    await pool.end();
  };
  return { agate, url, redis: { url: redisUrl, prefix, client, health, producer }, close };
}

export function requireRedis(opened: Opened, command: string): NonNullable<Opened['redis']> {
  if (opened.redis === null) {
    throw new AgateError(
      'invalid_request',
      `agate ${command} needs REDIS_URL (for example REDIS_URL=redis://127.0.0.1:6379).`,
    );
  }
  return opened.redis;
}
