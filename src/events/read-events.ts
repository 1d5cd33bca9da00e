import { withTenant } from '../db/index.js';
import type { PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { selectEventPage } from './events.queries.js';
import type { EventRange, StoredEvent } from './events.queries.js';
import { checkRef, notFound } from './get-session.js';
import type { SessionRef } from './get-session.js';
import { missingEvents, missingRange } from './missing-events.js';
import { selectSessionBounds } from './sessions.queries.js';
import type { StoreDeps } from './store-deps.js';

export type ReadEventsInput = SessionRef & { after?: number; limit?: number };
export type EventPage = { events: StoredEvent[]; nextAfter: number | null };
export type StreamEventsInput = SessionRef & { after?: number; to?: number; pageSize?: number };

const maxPage = 1_000;

function checkCursor(name: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new AgateError('invalid_request', `${name} must be an integer of at least ${min}.`);
  }
  return value as number;
}

/**
 * `selectEventPage`, proven complete (`missingRange`): a page that skips a sequence, or ends
 * short of `to` with fewer than `limit` events, is `integrity_violation` naming the first missing
 * sequence and why it is gone (`missingEvents`). In the caller's transaction.
 */
export async function selectCompletePage(
  tx: PoolClient,
  range: EventRange,
): Promise<StoredEvent[]> {
  const events = await selectEventPage(tx, range);
  const missing = missingRange(events, range.after, range.to, range.limit);
  if (missing === undefined) return events;
  const session = { id: range.sessionId, ...range.bounds };
  throw await missingEvents(tx, session, missing.first, missing.last);
}

/** A keyset page: events with sequence > `after`, at most `limit` (default 100, max 1,000). */
export async function readEvents(deps: StoreDeps, input: ReadEventsInput): Promise<EventPage> {
  const { tenantId, sessionId } = checkRef(input);
  const after = checkCursor('after', input.after, 0, 0);
  const limit = Math.min(checkCursor('limit', input.limit, 1, 100), maxPage);
  return withTenant(deps.pool, { tenantId, role: input.role }, async (tx) => {
    const bounds = await selectSessionBounds(tx, sessionId);
    if (bounds === undefined) throw notFound(sessionId);
    const last = bounds.lastSequence;
    const events = await selectCompletePage(tx, { sessionId, bounds, after, to: last, limit });
    const seen = events.at(-1)?.sequence;
    return { events, nextAfter: seen !== undefined && seen < last ? seen : null };
  });
}

/**
 * Streams the events after `after` up to `to` (default: the last sequence when the stream
 * starts), one page (default 1,000) in memory at a time, each page in its own short transaction.
 */
export async function* streamEvents(
  deps: StoreDeps,
  input: StreamEventsInput,
): AsyncGenerator<StoredEvent> {
  const { tenantId, sessionId } = checkRef(input);
  const context = { tenantId, role: input.role };
  let after = checkCursor('after', input.after, 0, 0);
  const pageSize = Math.min(checkCursor('pageSize', input.pageSize, 1, maxPage), 10_000);
  const bounds = await withTenant(deps.pool, context, (tx) => selectSessionBounds(tx, sessionId));
  if (bounds === undefined) throw notFound(sessionId);
  const to = Math.min(checkCursor('to', input.to, 0, bounds.lastSequence), bounds.lastSequence);
  while (after < to) {
    const page = await withTenant(deps.pool, context, (tx) =>
      selectCompletePage(tx, { sessionId, bounds, after, to, limit: pageSize }),
    );
    yield* page;
    after = page[page.length - 1]?.sequence ?? to;
  }
}
