import { tenantAgate } from '../tenant-agate.js';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  maxAnalyticsPage,
  readAnalyticsEvents,
  streamAnalyticsEvents,
} from '../../analytics/index.js';
import type { AnalyticsRow, ReadAnalyticsInput } from '../../analytics/index.js';
import type { ApiContext } from '../api-context.js';
import { principalOf } from '../auth.js';
import { defineRoute } from '../define-route.js';
import { queryIntegerIn, time, uuid } from '../schemas.js';

const ndjson = 'application/x-ndjson';

const analyticsQuery = z.strictObject({
  session: uuid.optional().meta({ description: 'Only this session’s events.' }),
  player: uuid.optional().meta({ description: 'Only the events of this player’s sessions.' }),
  type: z
    .string()
    .max(5_100)
    .optional()
    .meta({ description: 'Only these event types: 1 to 50 names, separated by commas.' }),
  from: z
    .string()
    .max(100)
    .optional()
    .meta({ description: 'Server time at or after this RFC 3339 instant.' }),
  to: z
    .string()
    .max(100)
    .optional()
    .meta({ description: 'Server time before this RFC 3339 instant.' }),
  after: z
    .string()
    .max(200)
    .optional()
    .meta({ description: 'The `next` of the previous page (opaque); leave out for the first.' }),
  limit: queryIntegerIn(1, maxAnalyticsPage)
    .optional()
    .meta({
      description: `Rows per page, 1 to ${maxAnalyticsPage} (default 100; with NDJSON, the size of each page read while streaming, default ${maxAnalyticsPage}).`,
    }),
  format: z
    .enum(['json', 'ndjson'])
    .optional()
    .meta({ description: `ndjson: the same as Accept: ${ndjson}.` }),
});

const analyticsValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const analyticsEventSchema = z
  .strictObject({
    tenantId: uuid,
    sessionId: uuid,
    sequence: z.number().int(),
    eventId: uuid,
    type: z.string(),
    version: z.number().int(),
    serverTime: time,
    clientTime: time.nullable(),
    playerId: uuid.nullable(),
    rules: z.string(),
    rulesVersion: z.number().int(),
    fields: z
      .record(z.string(), analyticsValue)
      .meta({ description: 'What the session’s rules declare for this event type.' }),
  })
  .meta({ id: 'AnalyticsEvent' });

const analyticsPageSchema = z
  .strictObject({
    events: z.array(analyticsEventSchema),
    next: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `after` for the next page; null: the range ends here.' }),
  })
  .meta({ id: 'AnalyticsPage' });

function wantsNdjson(request: FastifyRequest, format: 'json' | 'ndjson' | undefined): boolean {
  if (format !== undefined) return format === 'ndjson';
  return /(^|,)\s*application\/x-ndjson\s*(;|,|$)/i.test(request.headers.accept ?? '');
}

/** The rows as NDJSON lines, the first one already read (so a failure before it is a problem). */
async function* lines(
  first: IteratorResult<AnalyticsRow>,
  rest: AsyncGenerator<AnalyticsRow>,
): AsyncGenerator<string> {
  if (first.done === true) return;
  yield `${JSON.stringify(first.value)}\n`;
  for await (const row of rest) yield `${JSON.stringify(row)}\n`;
}

/**
 * analytics.events for the tenant's analysts and admins (ADR 0023), read as agate_analyst: a
 * page with a keyset cursor, or the whole filtered range as NDJSON, streamed page by page.
 */
export function registerAnalyticsRoutes(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/analytics/events',
      operationId: 'readAnalyticsEvents',
      summary:
        'One row per event with its session’s player, rules and the fields the rules declare, in server-time order; as pages (follow next) or, with Accept: application/x-ndjson, the whole range streamed.',
      tag: 'analytics',
      access: ['analyst', 'admin'],
      query: analyticsQuery,
      responses: {
        200: {
          description: `A page; as ${ndjson}, one AnalyticsEvent per line for the whole filtered range (a stream cut short ends without its final chunk, which HTTP clients report as an error).`,
          body: analyticsPageSchema,
          alternatives: [{ contentType: ndjson, body: analyticsEventSchema }],
        },
      },
    },
    async ({ query }, request, reply) => {
      const { pool } = await tenantAgate(context, request);
      const input: ReadAnalyticsInput = {
        tenantId: principalOf(request).tenantId,
        role: 'agate_analyst',
        sessionId: query.session,
        playerId: query.player,
        types: query.type?.split(','),
        from: query.from,
        to: query.to,
        after: query.after,
        limit: query.limit,
      };
      if (!wantsNdjson(request, query.format)) return readAnalyticsEvents(pool, input);
      const rows = streamAnalyticsEvents(pool, input);
      const first = await rows.next();
      void reply.header('cache-control', 'no-store');
      return reply.type(ndjson).send(Readable.from(lines(first, rows)));
    },
  );
}
