import type { PoolClient } from '../src/db/index.js';
import {
  boundsOf,
  missingEvents,
  missingRange,
  pageParams,
  pageQuery,
} from '../src/events/index.js';
import type { EventBounds } from '../src/events/index.js';

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

/** How the tail queries return a page: a JSON array of these rows, in sequence order. */
export type TailRow = [string, number, string, number, Record<string, unknown>, string];

/** One `TailRow`, built by PostgreSQL from game.events columns (optionally qualified). */
export function tailRowJson(alias = ''): string {
  const c = (column: string) => `${alias}${column}`;
  return `json_build_array(${c('event_id')}, ${c('sequence')}, ${c('event_type')},
    ${c('event_version')}, ${c('event_data')}, encode(${c('hash')}, 'hex'))`;
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

/** Events in a page of the tail. */
export const tailPageSize = 2_000;

/**
 * One page of the tail (`pageQuery`, the store's own page read) as one JSON array of `TailRow`s:
 * the client parses it with one JSON.parse instead of decoding every field of every row, which
 * halves its cost per event (the data is the jsonb's own text, so it parses to the same value as
 * a plain read). The time bounds (`boundsOf`) let PostgreSQL read only the partitions that can
 * hold the session; known at planning (an unnamed statement, so a custom plan), they let it walk
 * one partition's primary key in order and stop at the limit.
 */
const tailPageQuery = `SELECT json_agg(${tailRowJson()} ORDER BY sequence) AS page FROM (${pageQuery}) AS tail`;

async function selectTailPage(
  tx: PoolClient,
  sessionId: string,
  bounds: EventBounds,
  after: number,
  to: number,
  limit: number,
): Promise<TailEvent[]> {
  const params = pageParams(sessionId, bounds, after, to, limit);
  if (params === undefined) return [];
  const result = await tx.query<{ page: TailRow[] | null }>(tailPageQuery, params);
  return tailEventsOf(result.rows[0]?.page ?? null);
}

type TailSession = EventBounds & { id: string };

/**
 * The session's events after `after` up to `to`, in pages of `tailPageSize`, in the caller's
 * transaction; `first`, when given and not empty, is the first page, already read (it must be
 * the events from `after` on). It reaches `to` or fails: every sequence from `after + 1` to `to`
 * must arrive, so a page that skips one, or ends short of `to` (or an empty read), yields the
 * events before the hole and then throws `integrity_violation` (`missingEvents`: the first and
 * last missing sequence and the months that are gone). The next page is asked for as soon as a
 * page arrives, so PostgreSQL reads it while the caller folds this one; at most two pages are in
 * memory. Stopping early waits for the page in flight.
 */
export async function* readTailPages(
  tx: PoolClient,
  session: TailSession,
  after: number,
  to: number,
  first?: TailEvent[],
): AsyncGenerator<TailEvent[]> {
  const bounds = boundsOf(session);
  const fetchAfter = (cursor: number) =>
    selectTailPage(tx, session.id, bounds, cursor, to, tailPageSize);
  let next = first !== undefined && first.length > 0 ? Promise.resolve(first) : fetchAfter(after);
  let cursor = after;
  try {
    for (;;) {
      const page = await next;
      const missing = missingRange(page, cursor, to, tailPageSize);
      if (missing !== undefined) {
        next = Promise.resolve([]);
        if (missing.index > 0) yield page.slice(0, missing.index);
        throw await missingEvents(tx, session, missing.first, missing.last);
      }
      const last = page.at(-1)?.sequence;
      if (last === undefined) return;
      cursor = last;
      next = fetchAfter(last);
      // Handled by the `await` above on the next turn; this only keeps a failure that lands
      // while the caller is busy from counting as an unhandled rejection meanwhile.
      void next.catch(() => undefined);
      yield page;
    }
  } finally {
    await next.catch(() => undefined);
  }
}

/** The chain hash of the event at `sequence`: where the chain check resumes after a snapshot. */
export async function chainHashAt(
  tx: PoolClient,
  session: TailSession,
  sequence: number,
): Promise<Buffer | undefined> {
  const [event] = await selectTailPage(
    tx,
    session.id,
    boundsOf(session),
    sequence - 1,
    sequence,
    1,
  );
  return event?.sequence === sequence ? Buffer.from(event.hash, 'hex') : undefined;
}
