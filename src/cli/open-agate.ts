import type { Redis } from 'ioredis';
import { createCacheHealth, createRedis } from '../cache/index.js';
import type { CacheHealth } from '../cache/index.js';
import { loadGameCatalog } from '../config/index.js';
import type { LoadedCatalog } from '../config/index.js';
import { createPool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { createSnapshotProducer } from '../jobs/queue/index.js';
import type { SnapshotProducer } from '../jobs/queue/index.js';
import {
  createPlacementRouter,
  listenForPlacementChanges,
  readDatabaseServers,
  readReplicaUrls,
} from '../placements/index.js';
import type { PlacementRouter } from '../placements/index.js';
import { createAgate } from '../runtime/index.js';
import type { Agate, AgateConsumersOptions, AgateOptions } from '../runtime/index.js';
import { openDatabase } from './open-database.js';

export type Opened = {
  /** The control plane's Agate (DATABASE_URL): tenants, keys, placements, the shared tenants. */
  agate: Agate;
  /** Each tenant's Agate by its placement; the control plane's alone when no server is configured. */
  placements: PlacementRouter<Agate>;
  /** The placement database servers of configuration (AGATE_DATABASE_URL_<NAME>), by name. */
  servers: ReadonlyMap<string, string>;
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
  /**
   * Listen on the control plane for tenants a move switched (serve, worker), so the router asks
   * again where they are (`listenForPlacementChanges`); `onError` hears of a lost connection.
   * Not with the embedded database: it has no placement servers, so no tenant moves.
   */
  placementChanges?: { onError: (error: unknown) => void };
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
  const servers = readDatabaseServers(env);
  const replicaUrls = readReplicaUrls(env, servers);
  if ((servers.size > 0 || replicaUrls.size > 0) && embedded) {
    throw new AgateError(
      'invalid_config',
      'Placement servers (AGATE_DATABASE_URL_<NAME>) and replicas (AGATE_REPLICA_URL, AGATE_REPLICA_URL_<NAME>) need the control plane on a server too: set DATABASE_URL.',
    );
  }
  const redisUrl = options.inline === true ? undefined : env.REDIS_URL?.trim() || undefined;
  const poolMax = servers.size + replicaUrls.size > 0 ? placementPoolMax(env) : 0;
  const serverPool = (connectionString: string, applicationName: string) =>
    createPool({ connectionString, max: poolMax, applicationName });
  const open = (redis: AgateConsumersOptions['redis']) => {
    const settings: Omit<AgateOptions, 'pool'> = {
      games: games.catalog,
      consumers: consumers(redis),
      ...(redis === null ? {} : { verdicts: { redis } }),
    };
    const control = createAgate({ pool, ...settings });
    const databases = new Map(
      [...servers].map(([name, serverUrl]) => [
        name,
        createAgate({ pool: serverPool(serverUrl, `agate ${name}`), ...settings }),
      ]),
    );
    // Reads only (ADR 0033): no consumers, and nothing is ever appended through them.
    const replicas = new Map(
      [...replicaUrls].map(([placement, replicaUrl]) => [
        placement,
        createAgate({
          pool: serverPool(replicaUrl, `agate replica ${placement}`),
          games: games.catalog,
          consumers: false,
        }),
      ]),
    );
    return createPlacementRouter({
      control,
      databases,
      replicas,
      endPool: (agate) => agate.pool.end(),
    });
  };
  const follow = async (placements: PlacementRouter<Agate>) => {
    if (options.placementChanges === undefined || embedded) return () => Promise.resolve();
    const changes = listenForPlacementChanges({
      connectionString: url,
      router: placements,
      onError: options.placementChanges.onError,
    });
    await changes.ready();
    return () => changes.close();
  };
  if (redisUrl === undefined) {
    const placements = open(null);
    const unfollow = await follow(placements);
    const agate = placements.control;
    const close = async () => {
      await unfollow();
      await placements.close();
      await agate.close();
      await closeDatabase();
    };
    return { agate, placements, servers, games, url, where, embedded, redis: null, close };
  }
  const prefix = env.AGATE_QUEUE_PREFIX?.trim() || 'agate';
  const producer = createSnapshotProducer({ url: redisUrl, prefix });
  const health = createCacheHealth();
  const client = createRedis(redisUrl, { health });
  const placements = open({ client, health });
  const unfollow = await follow(placements);
  const agate = placements.control;
  const close = async () => {
    await unfollow();
    await placements.close();
    await agate.close();
    await producer.close();
    client.disconnect();
    await closeDatabase();
  };
  const redis = { url: redisUrl, prefix, client, health, producer };
  return { agate, placements, servers, games, url, where, embedded, redis, close };
}

/** Connections per placement database server and process (AGATE_PLACEMENT_POOL_MAX, default 10). */
function placementPoolMax(env: NodeJS.ProcessEnv): number {
  const raw = env.AGATE_PLACEMENT_POOL_MAX?.trim() || '10';
  if (!/^[1-9]\d{0,3}$/.test(raw)) {
    throw new AgateError(
      'invalid_config',
      `AGATE_PLACEMENT_POOL_MAX must be a whole number of connections from 1 to 9999, not "${raw}".`,
    );
  }
  return Number(raw);
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

/**
 * `openAgate`, with `agate` the Agate over `tenantId`'s placement (ADR 0032): what a command
 * about one tenant's data works on. The control plane stays reachable as `placements.control`.
 */
export async function openAgateFor(
  env: NodeJS.ProcessEnv,
  tenantId: string,
  options: OpenAgateOptions = {},
): Promise<Opened> {
  const opened = await openAgate(env, options);
  try {
    const { agate } = await opened.placements.agateFor(tenantId);
    return { ...opened, agate };
  } catch (error) {
    await opened.close();
    throw error;
  }
}
