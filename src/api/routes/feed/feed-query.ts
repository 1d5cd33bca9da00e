import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { feedNow, feedStart, maxFeedPage, parseFeedPosition } from '../../../events/index.js';
import type { Pool } from '../../../db/index.js';
import type { FeedPosition } from '../../../events/index.js';
import { AgateError } from '../../../errors/index.js';
import { feedPositionText, queryIntegerIn, uuid } from '../../schemas.js';

export const feedQuery = z.strictObject({
  after: feedPositionText.max(200).optional().meta({
    description:
      'Start after this position (default: the start of the feed). With SSE, a Last-Event-ID header takes its place.',
  }),
  from: z.enum(['start', 'now']).optional().meta({
    description:
      'Instead of `after`: `start` (every event) or `now` (events committed from now on; a few recent ones may repeat, none is skipped).',
  }),
  limit: queryIntegerIn(1, maxFeedPage)
    .optional()
    .meta({ description: `Events per page (default 100, at most ${maxFeedPage}).` }),
  types: z.string().max(5_100).optional().meta({
    description:
      'Only these event types, comma-separated (1 to 50). Each event’s previousSequence then counts only events of these types.',
  }),
  session: uuid.optional().meta({ description: 'Only this session’s events.' }),
});

export type FeedQuery = z.output<typeof feedQuery>;

export type FeedRequest = {
  after: FeedPosition;
  limit: number | undefined;
  types: string[] | null;
  sessionId: string | null;
};

function typesOf(text: string | undefined): string[] | null {
  if (text === undefined) return null;
  return text.split(',').map((name) => name.trim());
}

function lastEventIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers['last-event-id'];
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * Where the reader starts: Last-Event-ID when sent (an EventSource resends its first URL, so the
 * header must win over `after`), else `after`, else `from`, else the start.
 */
async function startOf(pool: Pool, query: FeedQuery, request: FastifyRequest) {
  if (query.after !== undefined && query.from !== undefined) {
    throw new AgateError('invalid_request', 'Send either after or from, not both.');
  }
  const lastEventId = lastEventIdOf(request);
  if (lastEventId !== undefined) return parseFeedPosition(lastEventId, 'Last-Event-ID');
  if (query.after !== undefined) return parseFeedPosition(query.after, 'after');
  return query.from === 'now' ? feedNow(pool) : feedStart;
}

/** The parsed request; positions and filters that are wrong are `invalid_request`. */
export async function feedRequestOf(
  pool: Pool,
  query: FeedQuery,
  request: FastifyRequest,
): Promise<FeedRequest> {
  return {
    after: await startOf(pool, query, request),
    limit: query.limit,
    types: typesOf(query.types),
    sessionId: query.session ?? null,
  };
}
