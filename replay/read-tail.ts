import type { PoolClient } from '../src/db/index.js';
import { boundsOf, missingEvents, missingRange, selectTailPage } from '../src/events/index.js';
import type { EventBounds, TailEvent } from '../src/events/index.js';

/**
 * Events in a page of the tail: each page is one JSON array (`selectTailPage`), parsed with one
 * JSON.parse.
 */
export const tailPageSize = 2_000;

type TailSession = EventBounds & { id: string };

/**
 * The session's events after `after` up to `to`, in pages of `tailPageSize`, in the caller's
 * transaction; `first`, when given and not empty, is the first page, already read (it must be
 * the events from `after` on, read with a limit of `firstLimit`). It reaches `to` or fails: every sequence from `after + 1` to `to`
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
  firstLimit = tailPageSize,
): AsyncGenerator<TailEvent[]> {
  const bounds = boundsOf(session);
  const fetchAfter = (cursor: number) =>
    selectTailPage(tx, { sessionId: session.id, bounds, after: cursor, to, limit: tailPageSize });
  const given = first !== undefined && first.length > 0;
  let next = given ? Promise.resolve(first) : fetchAfter(after);
  let limit = given ? firstLimit : tailPageSize;
  let cursor = after;
  try {
    for (;;) {
      const page = await next;
      const missing = missingRange(page, cursor, to, limit);
      limit = tailPageSize;
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
  const [event] = await selectTailPage(tx, {
    sessionId: session.id,
    bounds: boundsOf(session),
    after: sequence - 1,
    to: sequence,
    limit: 1,
  });
  return event?.sequence === sequence ? Buffer.from(event.hash, 'hex') : undefined;
}
