import type { FastifyInstance } from 'fastify';
import { AgateError } from '../errors/index.js';
import { keyIdOf } from './auth.js';

/**
 * A token bucket per API key: `burst` requests at once, refilled at `perSecond`. `now` is the
 * clock in milliseconds (default: the monotonic `performance.now`); tests pass their own.
 */
export type RateLimitOptions = {
  perSecond: number;
  burst: number;
  now?: () => number;
};

/**
 * 2,000 requests per second, bursts of 4,000: twice what a game server hosting 100 matches at 10
 * ticks per second sends with one request per tick per match, and two seconds of it at once.
 */
export const defaultRateLimit: RateLimitOptions = { perSecond: 2000, burst: 4000 };

export type RateVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

export type RateLimiter = {
  /** Takes one token from the key's bucket, or says how many whole seconds until there is one. */
  take(keyId: string): RateVerdict;
  /** Buckets held: only keys seen within the time a bucket takes to refill. */
  size(): number;
};

type Bucket = { tokens: number; at: number };

const epsilon = 1e-9;

function checkOptions({ perSecond, burst }: RateLimitOptions): void {
  if (!(Number.isFinite(perSecond) && perSecond > 0)) {
    throw new AgateError(
      'invalid_request',
      `rateLimit.perSecond must be a positive number, not ${perSecond}; pass null to turn the limit off.`,
    );
  }
  if (!(Number.isSafeInteger(burst) && burst >= 1)) {
    throw new AgateError(
      'invalid_request',
      `rateLimit.burst must be a whole number of at least 1, not ${burst}; pass null to turn the limit off.`,
    );
  }
}

/**
 * In-process buckets kept in a Map in order of last use. A bucket left alone until it is full
 * again behaves exactly like a new one, so it is dropped: the map holds only keys active within
 * `burst / perSecond` seconds, and each eviction pass stops at the first bucket still in use.
 */
export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  checkOptions(options);
  const { perSecond, burst } = options;
  const now = options.now ?? (() => performance.now());
  const refillMs = (burst / perSecond) * 1000;
  const buckets = new Map<string, Bucket>();

  function evictIdle(at: number): void {
    for (const [keyId, bucket] of buckets) {
      if (at - bucket.at < refillMs) return;
      buckets.delete(keyId);
    }
  }

  return {
    take(keyId) {
      const at = now();
      evictIdle(at);
      const bucket = buckets.get(keyId);
      const elapsed = bucket === undefined ? 0 : Math.max(0, at - bucket.at);
      const before =
        bucket === undefined
          ? burst
          : Math.min(burst, bucket.tokens + (elapsed * perSecond) / 1000);
      // Tokens add up in floating point: a hair short of one is one.
      const granted = before >= 1 - epsilon;
      buckets.delete(keyId);
      buckets.set(keyId, { tokens: granted ? before - 1 : before, at });
      if (granted) return { ok: true };
      const wait = Math.ceil((1 - before) / perSecond - epsilon);
      return { ok: false, retryAfterSeconds: Math.max(1, wait) };
    },
    size: () => buckets.size,
  };
}

/**
 * Limits every authenticated request by its API key: registered after `registerAuth`, so a
 * request without a valid key never reaches a bucket and public routes are never limited. A
 * refusal happens before the body is read, so nothing is stored.
 */
export function registerRateLimit(app: FastifyInstance, options: RateLimitOptions | null): void {
  if (options === null) return;
  const limiter = createRateLimiter(options);
  const limit = `${options.perSecond} per second, bursts of ${options.burst}`;
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.access === 'public' || request.is404) return;
    const verdict = limiter.take(keyIdOf(request));
    if (verdict.ok) return;
    const seconds = verdict.retryAfterSeconds;
    void reply.header('retry-after', String(seconds));
    throw new AgateError(
      'rate_limited',
      `This API key is over its limit (${limit}); nothing was done. Wait ${seconds} s, then send the request again.`,
      { details: { retryAfter: seconds } },
    );
  });
}
