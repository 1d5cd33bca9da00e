import { Redis } from 'ioredis';
import { messageOf, recordError } from './cache-health.js';
import type { CacheHealth } from './cache-health.js';

export type RedisClientOptions = {
  /** Prepended to every key (tests and shared servers use one per user). */
  keyPrefix?: string;
  /** Receives the client's connection errors (counted as `connectionErrors`). */
  health?: CacheHealth;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
};

const maxReconnectDelayMs = 2_000;

/**
 * A Redis client for caches that fails fast instead of waiting for Redis: no offline queue, one
 * retry per command, short connect and command timeouts. It connects on first use and, once
 * down, keeps reconnecting in the background with a capped delay while commands fail at once.
 * Connection errors never surface as an unhandled 'error' event.
 */
export function createRedis(url: string, options: RedisClientOptions = {}): Redis {
  const redis = new Redis(url, {
    keyPrefix: options.keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 500,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), maxReconnectDelayMs),
  });
  redis.on('error', (error: unknown) => {
    if (options.health === undefined) return;
    options.health.connectionErrors += 1;
    options.health.lastError = messageOf(error);
  });
  return redis;
}

function untilReady(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = () => finish();
    const onClose = () => finish(new Error('Redis closed the connection before it was ready.'));
    const timer = setTimeout(
      () => finish(new Error(`Redis was not ready within ${timeoutMs} ms.`)),
      timeoutMs,
    );
    redis.once('ready', onReady);
    redis.once('close', onClose);
  });
}

// One wait per client, however many commands are waiting for the connection.
const pending = new WeakMap<Redis, Promise<void>>();

function connection(redis: Redis): Promise<void> {
  let ready = pending.get(redis);
  if (ready === undefined) {
    const timeoutMs = (redis.options.connectTimeout ?? 500) + 100;
    ready = (redis.status === 'wait' ? redis.connect() : untilReady(redis, timeoutMs)).finally(() =>
      pending.delete(redis),
    );
    pending.set(redis, ready);
  }
  return ready;
}

/**
 * Connects a lazy client on first use (a command sent before that would be refused, as there is
 * no offline queue) and waits for a connection in progress; in any other state the command is
 * sent at once and fails at once when Redis is down.
 */
export async function whenReady(redis: Redis): Promise<void> {
  if (redis.status === 'wait' || redis.status === 'connecting' || redis.status === 'connect') {
    await connection(redis);
  }
}

/** Is the client worth trying now? False while it is reconnecting or after it was closed. */
export function isUsable(redis: Redis): boolean {
  return redis.status !== 'reconnecting' && redis.status !== 'end' && redis.status !== 'close';
}

export type Attempt<T> = { ok: true; value: T } | { ok: false };

/** Runs Redis work for a best-effort path: a failure is counted in `health`, never thrown. */
export async function tryRedis<T>(
  redis: Redis,
  health: CacheHealth,
  work: (redis: Redis) => Promise<T>,
): Promise<Attempt<T>> {
  try {
    await whenReady(redis);
    return { ok: true, value: await work(redis) };
  } catch (error) {
    recordError(health, error);
    return { ok: false };
  }
}
