import { defaultReplicaWaitMs } from '../placements/index.js';
import type { Command } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { createServer, defaultBodyLimit, defaultRequestTimeoutMs } from '../api/index.js';
import { fromPgError, schemaStatus } from '../db/index.js';
import { defaultKeyCacheMs } from '../keys/index.js';
import { AgateError } from '../errors/index.js';
import { describeGames } from './games.command.js';
import { openAgate } from './open-agate.js';

const serveEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AGATE_BODY_LIMIT: z.coerce.number().int().min(1024).default(defaultBodyLimit),
  AGATE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(defaultRequestTimeoutMs),
  AGATE_KEY_CACHE_MS: z.coerce.number().int().min(0).default(defaultKeyCacheMs),
  AGATE_REPLICA_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(defaultReplicaWaitMs),
  AGATE_RATE_LIMIT: z.coerce
    .number({ error: 'must be a number of requests per second per API key (0 turns it off)' })
    .min(0, { error: 'must be 0 (off) or more requests per second' })
    .optional(),
  AGATE_RATE_BURST: z.coerce
    .number({ error: 'must be a whole number of requests (0 turns the limit off)' })
    .int({ error: 'must be a whole number of requests (0 turns the limit off)' })
    .min(0, { error: 'must be 0 (off) or a whole number of requests' })
    .optional(),
});

type ServeEnv = z.output<typeof serveEnv>;

/**
 * The server's per-key rate limit from AGATE_RATE_LIMIT (per second) and AGATE_RATE_BURST, for
 * keys whose key and tenant set none: neither set, the default; either 0, none (keys and tenants
 * with their own limit keep it); the burst defaults to two seconds' worth.
 */
function rateLimitOf(env: ServeEnv): { perSecond: number; burst: number } | null | undefined {
  const { AGATE_RATE_LIMIT: perSecond, AGATE_RATE_BURST: burst } = env;
  if (perSecond === 0 || burst === 0) return null;
  if (perSecond === undefined) {
    if (burst === undefined) return undefined;
    throw new AgateError(
      'invalid_request',
      'AGATE_RATE_BURST is set without AGATE_RATE_LIMIT: set both (requests per second, burst), or 0 to turn the limit off.',
    );
  }
  return { perSecond, burst: burst ?? Math.max(1, Math.ceil(perSecond * 2)) };
}

function readEnv(env: NodeJS.ProcessEnv): ServeEnv {
  const blank = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);
  const parsed = serveEnv.safeParse({
    PORT: blank(env.PORT),
    HOST: blank(env.HOST),
    LOG_LEVEL: blank(env.LOG_LEVEL),
    AGATE_BODY_LIMIT: blank(env.AGATE_BODY_LIMIT),
    AGATE_REQUEST_TIMEOUT_MS: blank(env.AGATE_REQUEST_TIMEOUT_MS),
    AGATE_KEY_CACHE_MS: blank(env.AGATE_KEY_CACHE_MS),
    AGATE_REPLICA_WAIT_MS: blank(env.AGATE_REPLICA_WAIT_MS),
    AGATE_RATE_LIMIT: blank(env.AGATE_RATE_LIMIT),
    AGATE_RATE_BURST: blank(env.AGATE_RATE_BURST),
  });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AgateError(
    'invalid_request',
    `${issue?.path.join('.') ?? 'environment'}: ${issue?.message ?? 'is not valid'}.`,
  );
}

function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the HTTP API (DATABASE_URL; PORT, HOST default 127.0.0.1:8080; LOG_LEVEL; AGATE_RATE_LIMIT, AGATE_RATE_BURST per key without its own or its tenant’s limit, 0 = none; AGATE_KEY_CACHE_MS); SIGTERM stops it',
    )
    .option(
      '--no-consumers',
      'do not derive snapshots, hot state and leaderboards here (an agate worker, or another server, does)',
    )
    .action(async (flags: { consumers: boolean }) => {
      const env = readEnv(process.env);
      const rateLimit = rateLimitOf(env);
      const logger = pino({ level: env.LOG_LEVEL });
      const consumers = flags.consumers && {
        onError: (error: unknown, where: { tenantId: string | null; consumer: string | null }) =>
          logger.warn({ err: error, ...where }, 'agate consumer failed; it retries'),
      };
      const opened = await openAgate(process.env, {
        consumers,
        placementChanges: {
          onError: (error) =>
            logger.warn({ err: error }, 'agate placement changes: not listening; reconnecting'),
        },
      });
      try {
        const status = await schemaStatus(opened.agate.pool).catch((error: unknown) => {
          throw fromPgError(error);
        });
        if (status.pending.length > 0) {
          throw new AgateError(
            'unavailable',
            `The database is at migration ${status.applied} of ${status.expected}; run agate migrate first.`,
          );
        }
        const app = createServer({
          agate: opened.agate,
          placements: opened.placements,
          replicaWaitMs: env.AGATE_REPLICA_WAIT_MS,
          redis: opened.redis && { client: opened.redis.client, health: opened.redis.health },
          logger,
          bodyLimit: env.AGATE_BODY_LIMIT,
          requestTimeoutMs: env.AGATE_REQUEST_TIMEOUT_MS,
          rateLimit,
          keyCacheMs: env.AGATE_KEY_CACHE_MS,
        });
        const stop = signalled();
        app.log.info(
          { config: opened.games.source },
          `agate serve: ${describeGames(opened.games)}`,
        );
        await app.listen({ port: env.PORT, host: env.HOST });
        const signal = await stop;
        app.log.info({ signal }, 'closing: finishing requests in flight');
        await app.close();
      } finally {
        await opened.close();
      }
    });
}
