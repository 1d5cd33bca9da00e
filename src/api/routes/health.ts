import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { schemaStatus } from '../../db/index.js';
import { AgateError, isAgateError } from '../../errors/index.js';
import { placementState, replicaLagBytes } from '../../placements/index.js';
import type { PlacementState } from '../../placements/index.js';
import type { ApiContext } from '../api-context.js';
import { declaredRoutes, defineRoute } from '../define-route.js';
import { openApiDocument } from '../openapi.js';
import { packageVersion } from '../package-version.js';

const readyTimeoutMs = 3_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AgateError('unavailable', `The database did not answer within ${ms} ms.`)),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const readySchema = z
  .object({
    status: z.literal('ready'),
    migrations: z.number().int(),
    redis: z.enum(['up', 'down', 'not_configured']).meta({
      description: 'Reported, not required: without Redis, state and jobs come from PostgreSQL.',
    }),
    replicas: z
      .record(
        z.string(),
        z.object({
          status: z.enum(['up', 'down']),
          lagBytes: z.number().int().nullable(),
        }),
      )
      .meta({
        description:
          'Each placement with a replica (`shared`, `database:<name>`): whether it answers, and the WAL bytes it has not replayed (null when down). Reported, not required: reads fall back to the primary.',
      }),
    placements: z.record(z.string(), z.enum(['up', 'down', 'out_of_date'])).meta({
      description:
        'Each placement database server this process is configured with (`database:<name>`), reported, not required: one that is down or behind on migrations fails only the tenants placed on it (503 placement_unavailable), so this process stays ready for the others.',
    }),
  })
  .meta({ id: 'Ready' });

const jsonObject = z.record(z.string(), z.unknown());
const openApiSchema = z
  .object({
    openapi: z.literal('3.1.0'),
    info: z.object({
      title: z.string(),
      version: z.string(),
      description: z.string(),
      license: z.object({ name: z.string(), identifier: z.string() }),
    }),
    servers: z.array(z.object({ url: z.string() })),
    paths: z.record(z.string(), z.record(z.string(), jsonObject)),
    components: z.object({
      schemas: z.record(z.string(), jsonObject),
      securitySchemes: z.record(z.string(), jsonObject),
    }),
  })
  .meta({ id: 'OpenApiDocument', description: 'This document (OpenAPI 3.1).' });

async function redisStatus(context: ApiContext): Promise<'up' | 'down' | 'not_configured'> {
  if (context.redis === null) return 'not_configured';
  const redis = context.redis;
  return withDeadline(redis.ping(), readyTimeoutMs).then(
    () => 'up' as const,
    () => 'down' as const,
  );
}

async function checkDatabase(
  context: ApiContext,
): Promise<{ status: 'ready'; migrations: number }> {
  const status = await withDeadline(schemaStatus(context.agate.pool), readyTimeoutMs).catch(
    (error: unknown) => {
      // Whatever keeps the database from answering makes this process not ready: never a 500.
      throw isAgateError(error, 'unavailable')
        ? error
        : new AgateError('unavailable', 'The database check failed.', { cause: error });
    },
  );
  if (status.pending.length > 0) {
    throw new AgateError(
      'unavailable',
      `The database is at migration ${status.applied} of ${status.expected}; run agate migrate.`,
    );
  }
  return { status: 'ready', migrations: status.applied };
}

async function placementsStatus(context: ApiContext): Promise<Record<string, PlacementState>> {
  const servers = context.placements.all().filter((p) => p.placement !== 'shared');
  const states = await Promise.all(
    servers.map((p) =>
      withDeadline(placementState(p.agate), readyTimeoutMs).catch((): PlacementState => 'down'),
    ),
  );
  return Object.fromEntries(servers.map((p, i) => [p.placement, states[i] ?? 'down']));
}

async function replicasStatus(
  context: ApiContext,
): Promise<Record<string, { status: 'up' | 'down'; lagBytes: number | null }>> {
  const replicated = context.placements.all().filter((p) => p.replica !== null);
  const lags = await Promise.all(
    replicated.map((p) =>
      withDeadline(replicaLagBytes(p), readyTimeoutMs).then(
        (lagBytes) => ({ status: 'up' as const, lagBytes }),
        () => ({ status: 'down' as const, lagBytes: null }),
      ),
    ),
  );
  return Object.fromEntries(
    replicated.map((p, i) => [p.placement, lags[i] ?? { status: 'down', lagBytes: null }]),
  );
}

/**
 * `/healthz`: the process answers. `/readyz`: the database answers at the expected migration.
 * `/openapi.json`: the document of every declared route, written once on first request.
 */
export function registerHealthRoutes(app: FastifyInstance, context: ApiContext): void {
  const tag = 'operations';
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/healthz',
      operationId: 'health',
      summary: 'The process is up.',
      tag,
      access: 'public',
      responses: { 200: { description: 'Up.', body: healthSchema } },
    },
    () => ({ status: 'ok' }),
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/readyz',
      operationId: 'ready',
      summary: 'The database answers and is at the expected migration (Redis is not required).',
      tag,
      access: 'public',
      responses: { 200: { description: 'Ready to serve.', body: readySchema } },
    },
    async () => {
      const [database, redis, placements, replicas] = await Promise.all([
        checkDatabase(context),
        redisStatus(context),
        placementsStatus(context),
        replicasStatus(context),
      ]);
      return { ...database, redis, placements, replicas };
    },
  );

  let document: Record<string, unknown> | undefined;
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/openapi.json',
      operationId: 'openApi',
      summary: 'This document.',
      tag,
      access: 'public',
      responses: {
        200: { description: 'The OpenAPI 3.1 document.', body: openApiSchema },
      },
    },
    () => {
      document ??= openApiDocument(
        declaredRoutes(app),
        { version: packageVersion() },
        context.agate.games,
      );
      return document;
    },
  );
}
