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
import { openDatabase } from './open-database.js';

export type Opened = {
  agate: Agate;
  /** DATABASE_URL, or the embedded database's URL (valid in this process). */
  url: string;
  /** Where the data is, for humans: PostgreSQL's host and database, or the embedded one. */
  where: string;
  embedded: boolean;
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
 * The store, replay and snapshots on DATABASE_URL, or on the embedded database when it is not
 * set. With REDIS_URL, snapshot work goes to the queue (in process when Redis does not answer)
 * and the hot state and leaderboards are kept in Redis; without it, or with `inline`, everything
 * runs in this process.
 */
export async function openAgate(
  env: NodeJS.ProcessEnv,
  options: { inline?: boolean } = {},
): Promise<Opened> {
  const target = await openDatabase(env);
  const { url, where } = target;
  const embedded = target.embedded !== null;
  const pool =
    target.embedded ?? createPool({ connectionString: url, applicationName: 'agate cli' });
  // The embedded database closes (and frees its directory) with its target; a server pool ends.
  const closeDatabase = () => (target.embedded === null ? pool.end() : target.close());
  const redisUrl = options.inline === true ? undefined : env.REDIS_URL?.trim() || undefined;
  if (redisUrl === undefined) {
    return {
      agate: createAgate({ pool, games: defaultGames }),
      url,
      where,
      embedded,
      redis: null,
      close: closeDatabase,
    };
  }
  const prefix = env.AGATE_QUEUE_PREFIX?.trim() || 'agate';
  const producer = createSnapshotProducer({ url: redisUrl, prefix });
  const health = createCacheHealth();
  const client = createRedis(redisUrl, { health });
  const deps = { pool, games: defaultGames };
  const agate = createAgate({
    ...deps,
    snapshots: snapshotQueueHook(producer, deps),
    afterAppend: [
      hotStateAfterAppend(deps, client, health),
      leaderboardAfterAppend(deps, client, health),
    ],
  });
  const close = async () => {
    await producer.close();
    client.disconnect();
    await closeDatabase();
  };
  const redis = { url: redisUrl, prefix, client, health, producer };
  return { agate, url, where, embedded, redis, close };
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
