import { withTenant } from '../db/index.js';
import type { PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { clientTimeSql, storedClientTime } from './client-time.js';
import { checkRef, notFound } from './get-session.js';
import type { SessionRef } from './get-session.js';
import type { EventBounds } from './event-bounds.js';
import { missingEvents, missingRange } from './missing-events.js';
import type { StoreDeps } from './store-deps.js';

export type StoredEvent = {
  eventId: string;
  sessionId: string;
  sequence: number;
  type: string;
  version: number;
  data: Record<string, unknown>;
  /** The instant the client sent, in UTC (`storedClientTime`'s form), or null. */
  clientTime: string | null;
  serverTime: Date;
  /** Hex chain hash: sha256(previous hash || sequence || content hash). */
  hash: string;
  /** The credential that appended it (`WrittenBy`, or `legacy`); not part of the hash. */
  writtenBy: string;
};

export type ReadEventsInput = SessionRef & { after?: number; limit?: number };
export type EventPage = { events: StoredEvent[]; nextAfter: number | null };
export type StreamEventsInput = SessionRef & { after?: number; to?: number; pageSize?: number };

/** Where a session's events are: its last sequence and the server_time range they span. */
type Bounds = EventBounds;
type EventRow = {
  event_id: string;
  session_id: string;
  sequence: number;
  event_type: string;
  event_version: number;
  event_data: Record<string, unknown>;
  client_time: string | null;
  server_time: Date;
  hash: Buffer;
  written_by: string;
};

const maxPage = 1_000;

/**
 * A session's events wherever retention keeps them: the live months (game.events) and the
 * archived ones (archive.events, the parent retention attaches old months to, under the same
 * tenant policy), as one UNION ALL with `where` (which must bound server_time by the session's
 * range) in each branch. With the bounds known at planning, PostgreSQL prunes every partition
 * outside the range: a session of recent months reads no archived partition at all. `page`
 * (`ORDER BY sequence LIMIT $n`) goes into each branch and around the union, so each branch
 * walks its primary key in order and stops at the limit, merged without a sort (a plain UNION
 * ALL under one ORDER BY ... LIMIT would read and sort every row of the range instead).
 */
export function storedEvents(columns: string, where: string, page = ''): string {
  return `(SELECT ${columns} FROM game.events WHERE ${where} ${page})
   UNION ALL
   (SELECT ${columns} FROM archive.events WHERE ${where} ${page})
   ${page}`;
}

/** Parameters: session, after, to, first event time, last event time, limit. */
export const pageQuery = storedEvents(
  `event_id, session_id, sequence, event_type, event_version, event_data,
   ${clientTimeSql('client_time')} AS client_time, server_time, hash, written_by`,
  'session_id = $1 AND sequence > $2 AND sequence <= $3 AND server_time >= $4 AND server_time <= $5',
  'ORDER BY sequence LIMIT $6',
);

function checkCursor(name: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new AgateError('invalid_request', `${name} must be an integer of at least ${min}.`);
  }
  return value as number;
}

async function loadBounds(tx: PoolClient, sessionId: string): Promise<Bounds | undefined> {
  const result = await tx.query<{
    last_sequence: number;
    first_event_at: Date | null;
    last_event_at: Date | null;
  }>('SELECT last_sequence, first_event_at, last_event_at FROM game.sessions WHERE id = $1', [
    sessionId,
  ]);
  const row = result.rows[0];
  return (
    row &&
    boundsOf({
      lastSequence: row.last_sequence,
      firstEventAt: row.first_event_at,
      lastEventAt: row.last_event_at,
    })
  );
}

/**
 * The bounds of a session as read from its row. JS dates hold milliseconds and PostgreSQL
 * microseconds: the parsed first time is floored already, so the last one is widened by a
 * millisecond to keep the newest event inside the bounds.
 */
export function boundsOf(session: EventBounds): EventBounds {
  return {
    lastSequence: session.lastSequence,
    firstEventAt: session.firstEventAt,
    lastEventAt: session.lastEventAt && new Date(session.lastEventAt.getTime() + 1),
  };
}

/** `pageQuery`'s parameters, or undefined when the range holds no event (nothing to ask). */
export function pageParams(
  sessionId: string,
  bounds: Bounds,
  after: number,
  to: number,
  limit: number,
): unknown[] | undefined {
  if (bounds.firstEventAt === null || bounds.lastEventAt === null || after >= to) return undefined;
  return [sessionId, after, to, bounds.firstEventAt, bounds.lastEventAt, limit];
}

/**
 * One page of a session's events in sequence order, in the caller's transaction (which sets the
 * tenant). The session's first and last event times (`boundsOf`) bound server_time, so
 * PostgreSQL reads only the partitions that can hold them.
 */
async function selectEventPage(
  tx: PoolClient,
  sessionId: string,
  bounds: Bounds,
  after: number,
  to: number,
  limit: number,
): Promise<StoredEvent[]> {
  const params = pageParams(sessionId, bounds, after, to, limit);
  if (params === undefined) return [];
  const result = await tx.query<EventRow>(pageQuery, params);
  return result.rows.map((r) => ({
    eventId: r.event_id,
    sessionId: r.session_id,
    sequence: r.sequence,
    type: r.event_type,
    version: r.event_version,
    data: r.event_data,
    clientTime: storedClientTime(r.client_time),
    serverTime: r.server_time,
    hash: r.hash.toString('hex'),
    writtenBy: r.written_by,
  }));
}

/**
 * `selectEventPage`, proven complete (`missingRange`): a page that skips a sequence, or ends
 * short of `to` with fewer than `limit` events, is `integrity_violation` naming the first missing
 * sequence and why it is gone (`missingEvents`). In the caller's transaction.
 */
export async function selectCompletePage(
  tx: PoolClient,
  sessionId: string,
  bounds: Bounds,
  after: number,
  to: number,
  limit: number,
): Promise<StoredEvent[]> {
  const events = await selectEventPage(tx, sessionId, bounds, after, to, limit);
  const missing = missingRange(events, after, to, limit);
  if (missing === undefined) return events;
  throw await missingEvents(tx, { id: sessionId, ...bounds }, missing.first, missing.last);
}

/** A keyset page: events with sequence > `after`, at most `limit` (default 100, max 1,000). */
export async function readEvents(deps: StoreDeps, input: ReadEventsInput): Promise<EventPage> {
  const { tenantId, sessionId } = checkRef(input);
  const after = checkCursor('after', input.after, 0, 0);
  const limit = Math.min(checkCursor('limit', input.limit, 1, 100), maxPage);
  return withTenant(deps.pool, { tenantId, role: input.role }, async (tx) => {
    const bounds = await loadBounds(tx, sessionId);
    if (bounds === undefined) throw notFound(sessionId);
    const last = bounds.lastSequence;
    const events = await selectCompletePage(tx, sessionId, bounds, after, last, limit);
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
  const bounds = await withTenant(deps.pool, context, (tx) => loadBounds(tx, sessionId));
  if (bounds === undefined) throw notFound(sessionId);
  const to = Math.min(checkCursor('to', input.to, 0, bounds.lastSequence), bounds.lastSequence);
  while (after < to) {
    const page = await withTenant(deps.pool, context, (tx) =>
      selectCompletePage(tx, sessionId, bounds, after, to, pageSize),
    );
    yield* page;
    after = page[page.length - 1]?.sequence ?? to;
  }
}
