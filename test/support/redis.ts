import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createCacheHealth, createRedis, whenReady } from '../../src/cache/index.js';
import type { CacheHealth } from '../../src/cache/index.js';

/** The Redis the integration tests share; each file keeps to its own key prefix. */
export const redisUrl = process.env.AGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Nothing listens here: a Redis that is down. */
export const downRedisUrl = 'redis://127.0.0.1:1';

export type TestRedis = {
  prefix: string;
  redis: Redis;
  health: CacheHealth;
  /** A second client on the same prefix, as another process would be. */
  other(): Redis;
  /** The keys under the prefix, without it, sorted. */
  keys(): Promise<string[]>;
  /** Deletes every key under the prefix, as a flush of this file's data. */
  flush(): Promise<void>;
  /** Flushes and closes every client. */
  close(): Promise<void>;
};

async function scanPrefix(raw: Redis, prefix: string): Promise<string[]> {
  await whenReady(raw);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

export function createTestRedis(name: string): TestRedis {
  const prefix = `agate-test:${name}:${randomBytes(6).toString('hex')}:`;
  const health = createCacheHealth();
  const redis = createRedis(redisUrl, { keyPrefix: prefix, health });
  const clients: Redis[] = [redis];
  // SCAN patterns are not prefixed by the client, so a raw client lists and deletes.
  const raw = createRedis(redisUrl);
  clients.push(raw);
  const flush = async () => {
    const keys = await scanPrefix(raw, prefix);
    if (keys.length > 0) await raw.del(...keys);
  };
  return {
    prefix,
    redis,
    health,
    other() {
      const client = createRedis(redisUrl, { keyPrefix: prefix });
      clients.push(client);
      return client;
    },
    keys: async () => (await scanPrefix(raw, prefix)).map((k) => k.slice(prefix.length)).sort(),
    flush,
    async close() {
      await flush();
      await Promise.all(clients.map((c) => closeRedis(c)));
    },
  };
}

/** Closes a client whatever state it is in (a lazy one never connected, one reconnecting). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => undefined);
  else redis.disconnect();
}

/** A client pointed at a closed port, with its own health counters. */
export function createDownRedis(): { redis: Redis; health: CacheHealth } {
  const health = createCacheHealth();
  return { redis: createRedis(downRedisUrl, { health }), health };
}
