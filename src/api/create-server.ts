import { randomUUID } from 'node:crypto';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { createCacheHealth } from '../cache/index.js';
import type { CacheHealth } from '../cache/index.js';
import { createPlacementRouter, defaultReplicaWaitMs } from '../placements/index.js';
import type { PlacementRouter } from '../placements/index.js';
import type { Agate } from '../runtime/index.js';
import { placedError } from './tenant-agate.js';
import type { ApiContext } from './api-context.js';
import { registerAuth } from './auth.js';
import { answerClientError, refuseLongUrl } from './client-errors.js';
import { registerExactJson } from './exact-json.js';
import { createApiMetrics } from './metrics.js';
import { sendProblem } from './problem.js';
import { defaultRateLimit, registerRateLimit } from './rate-limit.js';
import type { RateLimitOptions } from './rate-limit.js';
import { AgateError } from '../errors/index.js';
import { createKeyCache, defaultKeyCacheMs } from '../keys/index.js';
import { registerAnalyticsRoutes } from './routes/analytics.js';
import { registerAppendsRoute } from './routes/appends.js';
import { registerApiKeyRoutes } from './routes/api-keys/index.js';
import { registerConsumerRoutes } from './routes/consumers/index.js';
import { registerEventRoutes } from './routes/events.js';
import { defaultFeedStreamOptions, registerFeedRoutes } from './routes/feed/index.js';
import type { FeedStreamOptions } from './routes/feed/index.js';
import { registerGameRoutes } from './routes/games.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerLeaderboardRoutes } from './routes/leaderboard.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerPlayerRoutes } from './routes/players/index.js';
import { registerReplayRoutes } from './routes/replay.js';
import { registerSessionRoutes } from './routes/sessions/index.js';

export type ServerOptions = {
  /** The control plane's Agate: keys, tenants, placements, and the shared tenants' data. */
  agate: Agate;
  /**
   * Each tenant's Agate by its placement (ADR 0032); default: every tenant on `agate`. Closing
   * the server does not close them.
   */
  placements?: PlacementRouter<Agate>;
  /**
   * How long a replay or event read that names `minSequence` waits for the placement's replica to
   * reach it before the primary answers, in ms (default 500; ADR 0033).
   */
  replicaWaitMs?: number;
  /** The hot-state cache for `GET /v1/sessions/:id/state`; without it, state comes from a replay. */
  redis?: { client: Redis; health: CacheHealth } | null;
  /** Where logs go (default: pino at level info on stdout). Keys and bodies are never logged. */
  logger?: Logger;
  /** Largest request body in bytes (default 4 MiB: 64 sessions of a few events); larger ones get 413. */
  bodyLimit?: number;
  /** Time to receive a whole request, in ms (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * Requests per second and burst per API key, in this process (default 2,000/s, burst 4,000),
   * for keys whose key and tenant set no limit of their own (`agate keys limit`, `agate tenants
   * limit`); null: such keys are not limited. Over a limit: 429 `rate_limited` with Retry-After.
   */
  rateLimit?: RateLimitOptions | null;
  /**
   * How long a looked-up API key is trusted without asking the database, in ms (default 10,000;
   * 0 turns the cache off). A revoked or rotated key is dropped at once in this process and, by
   * `LISTEN agate_keys`, in every other; this is the bound when that notification is lost.
   */
  keyCacheMs?: number;
  /** How `GET /v1/feed` streams poll and send keep-alives (defaults: 200 ms, 20 ms, 15 s). */
  feedStream?: Partial<FeedStreamOptions>;
};

export const defaultBodyLimit = 4 * 1024 * 1024;
export const defaultRequestTimeoutMs = 30_000;

/** Never written to the logs, whatever a serializer or a log call puts there. */
const redact = {
  paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'key'],
  censor: '[redacted]',
};

/**
 * The HTTP API (JSON under /v1, problem+json errors) as a Fastify instance, not yet listening:
 * call `listen` to serve, or `inject` in tests. `close` stops it; the pool stays the caller's.
 */
export function createServer(options: ServerOptions): FastifyInstance {
  const logger: FastifyBaseLogger =
    options.logger?.child({}, { redact }) ?? pino({ level: 'info', redact });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: options.bodyLimit ?? defaultBodyLimit,
    requestTimeout: options.requestTimeoutMs ?? defaultRequestTimeoutMs,
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    return503OnClosing: true,
    // The router's own refusals (a malformed percent-encoding, an over-long id) are problems too.
    frameworkErrors: (error, request, reply) => {
      sendProblem(error, request, reply);
    },
    clientErrorHandler: answerClientError,
  });
  // JSON only: any other content type is a 415, never a string handed to a route.
  app.removeContentTypeParser('text/plain');
  registerExactJson(app);
  const cacheHealth = options.redis?.health ?? createCacheHealth();
  const openStreams: ApiContext['openStreams'] = new Set();
  const rateLimit = options.rateLimit === undefined ? defaultRateLimit : options.rateLimit;
  const placements = options.placements ?? createPlacementRouter({ control: options.agate });
  const context: ApiContext = {
    agate: options.agate,
    placements,
    replicaWaitMs: options.replicaWaitMs ?? defaultReplicaWaitMs,
    redis: options.redis?.client ?? null,
    cacheHealth,
    metrics: createApiMetrics({
      pool: options.agate.pool,
      cacheHealth,
      logger,
      openFeedStreams: () => openStreams.size,
      placements: () => placements.all(),
    }),
    feedStream: { ...defaultFeedStreamOptions, ...options.feedStream },
    openStreams,
    rateLimit: rateLimit && { perSecond: rateLimit.perSecond, burst: rateLimit.burst },
  };
  // Streams never end by themselves: end them, or closing would wait for every client.
  app.addHook('preClose', (done) => {
    for (const end of context.openStreams) end();
    done();
  });
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onRequest', refuseLongUrl);
  const keyCacheMs = options.keyCacheMs ?? defaultKeyCacheMs;
  if (keyCacheMs > 0) {
    const keyCache = createKeyCache({
      pool: options.agate.pool,
      ttlMs: keyCacheMs,
      onError: (error) => logger.warn({ err: error }, 'agate key cache: not listening'),
    });
    app.addHook('onReady', () => keyCache.ready());
    app.addHook('onClose', () => keyCache.close());
    registerAuth(app, options.agate.pool, keyCache);
  } else {
    registerAuth(app, options.agate.pool);
  }
  registerRateLimit(app, rateLimit);
  app.setErrorHandler((error, request, reply) =>
    sendProblem(placedError(error, request, placements), request, reply),
  );
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      new AgateError('not_found', `No route ${request.method} ${request.url.split('?')[0] ?? ''}.`),
      request,
      reply,
    ),
  );
  registerHealthRoutes(app, context);
  registerMetricsRoutes(app, context);
  registerGameRoutes(app, context);
  registerSessionRoutes(app, context);
  registerEventRoutes(app, context);
  registerAppendsRoute(app, context);
  registerFeedRoutes(app, context);
  registerReplayRoutes(app, context);
  registerApiKeyRoutes(app, context);
  registerLeaderboardRoutes(app, context);
  registerPlayerRoutes(app, context);
  registerAnalyticsRoutes(app, context);
  registerConsumerRoutes(app, context);
  return app;
}
