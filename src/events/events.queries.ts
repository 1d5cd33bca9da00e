// The reads of game.events (and archive.events, where retention moves old months): the only
// module that holds their SQL. Invariants: every read runs in the caller's transaction, under its
// tenant (RLS); a session's events are read by (session_id, sequence) within the session's
// server_time bounds, so PostgreSQL prunes every partition that cannot hold them; pages come in
// sequence order. The other store modules splice `storedEvents` and `tailRowJson` into their own
// single round trips (the session start, the audit batch), so those read the same rows.
import type { PoolClient } from '../db/index.js';
import { clientTimeSql, storedClientTime } from './client-time.js';
import type { EventBounds } from './event-bounds.js';

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

/** A stored event with what replay checks and folds, and nothing else. */
export type TailEvent = {
  eventId: string;
  sequence: number;
  type: string;
  version: number;
  data: Record<string, unknown>;
  /** The chain hash, hex. */
  hash: string;
};

/** How the tail reads return a page: a JSON array of these rows, in sequence order. */
export type TailRow = [string, number, string, number, Record<string, unknown>, string];

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

/** One `TailRow`, built by PostgreSQL from game.events columns (optionally qualified). */
export function tailRowJson(alias = ''): string {
  const c = (column: string) => `${alias}${column}`;
  return `json_build_array(${c('event_id')}, ${c('sequence')}, ${c('event_type')},
    ${c('event_version')}, ${c('event_data')}, encode(${c('hash')}, 'hex'))`;
}

/**
 * Parameters: session, after, to, first event time, last event time, limit. Exported for the
 * plan test only; callers use `selectEventPage` or `selectTailPage`.
 */
export const pageQuery = storedEvents(
  `event_id, session_id, sequence, event_type, event_version, event_data,
   ${clientTimeSql('client_time')} AS client_time, server_time, hash, written_by`,
  'session_id = $1 AND sequence > $2 AND sequence <= $3 AND server_time >= $4 AND server_time <= $5',
  'ORDER BY sequence LIMIT $6',
);

/**
 * One page of the tail (`pageQuery`) as one JSON array of `TailRow`s: the client parses it with
 * one JSON.parse instead of decoding every field of every row, which halves its cost per event
 * (the data is the jsonb's own text, so it parses to the same value as a plain read). The time
 * bounds let PostgreSQL read only the partitions that can hold the session; known at planning
 * (an unnamed statement, so a custom plan), they let it walk one partition's primary key in
 * order and stop at the limit.
 */
const tailPageQuery = `SELECT json_agg(${tailRowJson()} ORDER BY sequence) AS page FROM (${pageQuery}) AS tail`;

/**
 * A page of one session's events: after `after` up to `to`, at most `limit`; `bounds` are the
 * session's (`boundsOf`), which bound server_time.
 */
export type EventRange = {
  sessionId: string;
  bounds: EventBounds;
  after: number;
  to: number;
  limit: number;
};

/** `pageQuery`'s parameters, or undefined when the range holds no event (nothing to ask). */
function pageParams(range: EventRange): unknown[] | undefined {
  const { sessionId, bounds, after, to, limit } = range;
  if (bounds.firstEventAt === null || bounds.lastEventAt === null || after >= to) return undefined;
  return [sessionId, after, to, bounds.firstEventAt, bounds.lastEventAt, limit];
}

export function tailEventsOf(rows: readonly TailRow[] | null): TailEvent[] {
  return (rows ?? []).map((r) => ({
    eventId: r[0],
    sequence: r[1],
    type: r[2],
    version: r[3],
    data: r[4],
    hash: r[5],
  }));
}

/** One page of a session's events in sequence order, every column. */
export async function selectEventPage(tx: PoolClient, range: EventRange): Promise<StoredEvent[]> {
  const params = pageParams(range);
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

/** `selectEventPage` with what replay needs only, read as one JSON array (`tailPageQuery`). */
export async function selectTailPage(tx: PoolClient, range: EventRange): Promise<TailEvent[]> {
  const params = pageParams(range);
  if (params === undefined) return [];
  const result = await tx.query<{ page: TailRow[] | null }>(tailPageQuery, params);
  return tailEventsOf(result.rows[0]?.page ?? null);
}
