import type { FastifyInstance } from 'fastify';
import { AgateError } from '../errors/index.js';
import type { KeyPrincipal, RateLimitSetting, RateLimitSource } from '../keys/index.js';
import { keyPrincipalOf } from './auth.js';

/**
 * The server's own rate limit per API key: `burst` requests at once, refilled at `perSecond`;
 * it applies to every key whose key and tenant set none (migration 0016). `now` is the clock in
 * milliseconds (default: the monotonic `performance.now`); tests pass their own.
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
  /**
   * Takes one token from the key's bucket, which holds `limit.burst` and refills at
   * `limit.perSecond`, or says how many whole seconds until there is one.
   */
  take(keyId: string, limit: RateLimitSetting): RateVerdict;
  /** Buckets held: only keys seen within the time their bucket takes to refill. */
  size(): number;
};

type Bucket = { tokens: number; at: number; limit: RateLimitSetting; refillMs: number };

const epsilon = 1e-9;

function checkServerLimit({ perSecond, burst }: RateLimitOptions): void {
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
 * Tokens in a bucket at `at`: refilled at the rate it had since its last request, never above
 * `limit`'s burst (a raised burst fills up over time, never at once).
 */
function tokensAt(bucket: Bucket | undefined, limit: RateLimitSetting, at: number): number {
  if (bucket === undefined) return limit.burst;
  const elapsed = Math.max(0, at - bucket.at);
  const refilled = bucket.tokens + (elapsed * bucket.limit.perSecond) / 1000;
  return Math.min(limit.burst, refilled);
}

/**
 * In-process buckets kept in a Map in order of last use, each with the limit of its key's last
 * request (a changed limit applies from the next request; tokens above a lowered burst go). A
 * bucket left alone until it is full again behaves exactly like a new one, so it is dropped: an
 * eviction pass takes the least recently used buckets while they are full, and stops at the
 * first that is not.
 */
export function createRateLimiter(options: { now?: () => number } = {}): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();

  function evictIdle(at: number): void {
    for (const [keyId, bucket] of buckets) {
      if (at - bucket.at < bucket.refillMs) return;
      buckets.delete(keyId);
    }
  }

  return {
    take(keyId, limit) {
      const at = now();
      evictIdle(at);
      const bucket = buckets.get(keyId);
      const before = tokensAt(bucket, limit, at);
      // Tokens add up in floating point: a hair short of one is one.
      const granted = before >= 1 - epsilon;
      buckets.delete(keyId);
      const refillMs = (limit.burst / limit.perSecond) * 1000;
      buckets.set(keyId, { tokens: granted ? before - 1 : before, at, limit, refillMs });
      if (granted) return { ok: true };
      const wait = Math.ceil((1 - before) / limit.perSecond - epsilon);
      return { ok: false, retryAfterSeconds: Math.max(1, wait) };
    },
    size: () => buckets.size,
  };
}

/** The limit a key's requests get, and where it came from; null when none applies. */
export function effectiveRateLimit(
  principal: KeyPrincipal,
  server: RateLimitSetting | null,
): (RateLimitSetting & { source: RateLimitSource }) | null {
  if ('rateLimit' in principal && principal.rateLimit !== null) return principal.rateLimit;
  return server === null ? null : { ...server, source: 'server' };
}

const sourceText: Record<RateLimitSource, string> = {
  key: 'set on this key (agate keys limit)',
  tenant: 'set on its tenant (agate tenants limit)',
  server: 'the server’s setting (AGATE_RATE_LIMIT, AGATE_RATE_BURST)',
};

/**
 * Limits every authenticated request by its API key: registered after `registerAuth`, so a
 * request without a valid key never reaches a bucket and public routes are never limited. Each
 * key gets its own limit, else its tenant's (both found with the key, so cached with it), else
 * `server`'s; with none, it is not limited. A refusal happens before the body is read, so
 * nothing is stored.
 */
export function registerRateLimit(app: FastifyInstance, server: RateLimitOptions | null): void {
  if (server !== null) checkServerLimit(server);
  const limiter = createRateLimiter({ now: server?.now });
  const serverLimit = server === null ? null : { perSecond: server.perSecond, burst: server.burst };
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.access === 'public' || request.is404) return;
    const principal = keyPrincipalOf(request);
    const limit = effectiveRateLimit(principal, serverLimit);
    if (limit === null) return;
    const verdict = limiter.take(principal.id, limit);
    if (verdict.ok) return;
    const seconds = verdict.retryAfterSeconds;
    void reply.header('retry-after', String(seconds));
    throw new AgateError(
      'rate_limited',
      `This API key is over its limit of ${limit.perSecond} requests per second, bursts of ${limit.burst}, ${sourceText[limit.source]}; nothing was done. Wait ${seconds} s, then send the request again.`,
      {
        details: {
          retryAfter: seconds,
          rateLimit: { perSecond: limit.perSecond, burst: limit.burst, source: limit.source },
        },
      },
    );
  });
}
