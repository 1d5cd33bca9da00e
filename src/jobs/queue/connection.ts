import { Redis } from 'ioredis';
import type { RedisOptions as IORedisOptions } from 'ioredis';
import type { RedisOptions } from 'bullmq';
import { z } from 'zod';
import { AgateError } from '../../errors/index.js';

/** Where the queues live: REDIS_URL, and the key prefix that separates deployments (and tests). */
export type QueueConnection = { url: string; prefix?: string };
export type ResolvedQueueConnection = { url: string; prefix: string };

export const defaultQueuePrefix = 'agate';

const connectionSchema = z.object({
  url: z.string().regex(/^rediss?:\/\/\S+$/),
  // `{...}` allows a Redis Cluster hash tag; ':' is BullMQ's own separator.
  prefix: z
    .string()
    .regex(/^[\w{}.-]{1,100}$/)
    .default(defaultQueuePrefix),
});

/** Checks REDIS_URL and the prefix, with a message that says how to fix them. */
export function resolveQueueConnection(input: QueueConnection): ResolvedQueueConnection {
  const parsed = connectionSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const field = parsed.error.issues[0]?.path[0] === 'prefix' ? 'prefix' : 'url';
  throw new AgateError(
    'invalid_request',
    field === 'url'
      ? 'REDIS_URL must be a redis:// or rediss:// URL, for example REDIS_URL=redis://127.0.0.1:6379.'
      : 'The queue prefix must be 1 to 100 letters, digits, _ . - { or } (no ":"), for example "agate".',
    { cause: parsed.error },
  );
}

/**
 * For workers: BullMQ's blocking connection requires `maxRetriesPerRequest: null` (commands wait
 * out a reconnect instead of failing the job).
 */
export function workerConnectionOptions(url: string): RedisOptions {
  return { url, maxRetriesPerRequest: null };
}

/**
 * For producers on the append path: fail fast instead of queueing commands while disconnected,
 * so an outage turns into an immediate 'unavailable' rather than a pile of pending appends.
 */
export function producerConnectionOptions(timeoutMs: number): IORedisOptions {
  return {
    enableOfflineQueue: false,
    connectTimeout: Math.max(timeoutMs, 1_000),
    commandTimeout: Math.max(timeoutMs, 100),
    maxRetriesPerRequest: 1,
  };
}

/** The producer's own client (it reconnects in the background; see `producerConnectionOptions`). */
export function createProducerRedis(url: string, timeoutMs: number): Redis {
  return new Redis(url, producerConnectionOptions(timeoutMs));
}

/**
 * Resolves true once the client is ready, false as soon as a connection attempt fails or when
 * `withinMs` runs out: never waits on a reconnect loop.
 */
export function whenReady(redis: Redis, withinMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  if (redis.status !== 'connecting' && redis.status !== 'connect') return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('close', onClose);
      resolve(ready);
    };
    const onReady = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(onClose, withinMs);
    redis.once('ready', onReady);
    redis.once('close', onClose);
  });
}

/** QUIT when connected (pending replies arrive first), otherwise just drop the socket. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through: the connection went away while quitting
    }
  }
  redis.disconnect();
}
