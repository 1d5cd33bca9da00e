import type { Redis } from 'ioredis';
import { createCacheHealth, createRedis } from '../cache/index.js';
import type { CacheHealth } from '../cache/index.js';
import { loadGameCatalog } from '../config/index.js';
import type { LoadedCatalog } from '../config/index.js';
import { createPool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { createSnapshotProducer } from '../jobs/queue/index.js';
import type { SnapshotProducer } from '../jobs/queue/index.js';
import { createAgate } from '../runtime/index.js';
import type { Agate, AgateConsumersOptions } from '../runtime/index.js';
import { openDatabase } from './open-database.js';

export type Opened = {
  agate: Agate;
  /** The games it runs and the configuration file they were listed in (null: archive-gate only). */
  games: LoadedCatalog;
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

export type OpenAgateOptions = {
  /** Ignore REDIS_URL: no queue, no Redis cache. */
  inline?: boolean;
  /**
   * Run agate's own consumers of the feed in this process (serve, worker, demo), with the hot
   * state and leaderboards when Redis is configured. Default false: another process derives.
   */
  consumers?: boolean | Omit<AgateConsumersOptions, 'redis'>;
};

/**
 * The games of the configuration file (AGATE_CONFIG, else agate.config.* in the current
 * directory, else archive-gate alone), loaded and checked before anything opens; then the store,
 * replay and snapshots on DATABASE_URL, or on the embedded database when it is not
 * set. With REDIS_URL (and not `inline`) the snapshot queue is open for the nightly's day
 * boundaries and the hot state and leaderboards live in Redis. Derived data follows the feed:
 * with `consumers`, this process runs agate's own consumers beside its other work.
 */
export async function openAgate(
  env: NodeJS.ProcessEnv,
  options: OpenAgateOptions = {},
): Promise<Opened> {
  const games = await loadGameCatalog({ env });
  const target = await openDatabase(env);
  const { url, where } = target;
  const embedded = target.embedded !== null;
  const pool =
    target.embedded ?? createPool({ connectionString: url, applicationName: 'agate cli' });
  // The embedded database closes (and frees its directory) with its target; a server pool ends.
  const closeDatabase = () => (target.embedded === null ? pool.end() : target.close());
  const consumers = (redis: AgateConsumersOptions['redis']): AgateConsumersOptions | false => {
    if (options.consumers === undefined || options.consumers === false) return false;
    return { ...(options.consumers === true ? {} : options.consumers), redis };
  };
  const redisUrl = options.inline === true ? undefined : env.REDIS_URL?.trim() || undefined;
  if (redisUrl === undefined) {
    const agate = createAgate({ pool, games: games.catalog, consumers: consumers(null) });
    const close = async () => {
      await agate.close();
      await closeDatabase();
    };
    return { agate, games, url, where, embedded, redis: null, close };
  }
  const prefix = env.AGATE_QUEUE_PREFIX?.trim() || 'agate';
  const producer = createSnapshotProducer({ url: redisUrl, prefix });
  const health = createCacheHealth();
  const client = createRedis(redisUrl, { health });
  const agate = createAgate({
    pool,
    games: games.catalog,
    consumers: consumers({ client, health }),
    verdicts: { redis: { client, health } },
  });
  const close = async () => {
    await agate.close();
    await producer.close();
    client.disconnect();
    await closeDatabase();
  };
  const redis = { url: redisUrl, prefix, client, health, producer };
  return { agate, games, url, where, embedded, redis, close };
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
