import { tenantAgate } from '../../tenant-agate.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readFeed } from '../../../events/index.js';
import type { ApiContext } from '../../api-context.js';
import { principalOf, readRoleOf } from '../../auth.js';
import { defineRoute } from '../../define-route.js';
import { feedPageSchema, feedStreamSchema } from '../../schemas.js';
import { feedPageJson } from './feed-json.js';
import { feedQuery, feedRequestOf } from './feed-query.js';
import { sendFeedStream } from './feed-stream.js';

const defaultLimit = 100;

function wantsStream(request: FastifyRequest): boolean {
  return /\btext\/event-stream\b/i.test(request.headers.accept ?? '');
}

/**
 * GET /v1/feed: the key's tenant's committed events in feed order, never one skipped (ADR 0021).
 * Game servers, analysts and admins may read it; analysts and admins read as agate_analyst.
 */
export function registerReadFeedRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/feed',
      operationId: 'readFeed',
      summary:
        'The tenant’s feed: a JSON page after `after` (follow `next`), or with Accept: text/event-stream a live stream of Server-Sent Events that resumes from Last-Event-ID.',
      tag: 'feed',
      access: ['game_server', 'analyst', 'admin'],
      query: feedQuery,
      responses: {
        200: {
          description:
            'A page of committed events in feed order (application/json), or the stream (text/event-stream).',
          body: feedPageSchema,
          alternatives: [{ contentType: 'text/event-stream', body: feedStreamSchema }],
        },
      },
    },
    async ({ query }, request, reply) => {
      const { pool } = await tenantAgate(context, request);
      const principal = principalOf(request);
      const feed = await feedRequestOf(pool, query, request);
      const read = (after: typeof feed.after) =>
        readFeed(
          { pool },
          {
            tenantId: principal.tenantId,
            role: readRoleOf(principal),
            after,
            limit: feed.limit,
            types: feed.types,
            sessionId: feed.sessionId,
          },
        );
      if (wantsStream(request)) {
        return sendFeedStream(request, reply, {
          read,
          after: feed.after,
          limit: feed.limit ?? defaultLimit,
          options: context.feedStream,
          streams: context.openStreams,
        });
      }
      return feedPageJson(await read(feed.after), feed.after);
    },
  );
}
