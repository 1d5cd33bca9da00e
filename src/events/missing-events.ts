import type { PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import type { EventBounds } from './event-bounds.js';

/** The first and last sequence a read should have returned and did not, and where it noticed. */
export type MissingRange = { first: number; last: number; index: number };

/**
 * Where a page of a session's events, read after `after` up to `to` with at most `limit` rows,
 * proves that events are missing: the first event that skips a sequence, or, for a page shorter
 * than `limit`, its end short of `to` (a short page must reach the end of the range; an empty one
 * too). A sequence that repeats or goes back is not a missing event: the fold reports it.
 */
export function missingRange(
  events: readonly { sequence: number }[],
  after: number,
  to: number,
  limit: number,
): MissingRange | undefined {
  let expected = after + 1;
  for (const [index, event] of events.entries()) {
    if (event.sequence > expected) return { first: expected, last: event.sequence - 1, index };
    if (event.sequence < expected) return undefined;
    expected += 1;
  }
  if (events.length < limit && expected <= to)
    return { first: expected, last: to, index: events.length };
  return undefined;
}

/**
 * The months of the session's time range that no partition of game.events or archive.events
 * covers (parsed from the partition bounds, which name their offset), and of those the ones a
 * table in the archive schema still holds, detached but not attached to archive.events.
 */
const goneMonthsQuery = `
  WITH bounds AS (
    SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid),
                        $re$FROM \\('([^']+)'\\) TO \\('([^']+)'\\)$re$) AS b
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent IN ('game.events'::regclass, 'archive.events'::regclass)
  ), covered AS (
    SELECT b[1]::timestamptz AS lo, b[2]::timestamptz AS hi FROM bounds WHERE b IS NOT NULL
  ), months AS (
    SELECT m AT TIME ZONE 'UTC' AS start, to_char(m, 'YYYY-MM') AS month,
           'events_p' || to_char(m, 'YYYY_MM') AS name
      FROM generate_series(date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC'),
                           $2::timestamptz AT TIME ZONE 'UTC', interval '1 month') AS g(m)
  )
  SELECT month,
         EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'archive' AND c.relname = months.name) AS detached
    FROM months
   WHERE NOT EXISTS (SELECT 1 FROM covered WHERE lo <= start AND start < hi)
   ORDER BY month`;

type GoneMonth = { month: string; detached: boolean };

async function goneMonths(tx: PoolClient, bounds: EventBounds): Promise<GoneMonth[]> {
  if (bounds.firstEventAt === null || bounds.lastEventAt === null) return [];
  const r = await tx.query<GoneMonth>(goneMonthsQuery, [bounds.firstEventAt, bounds.lastEventAt]);
  return r.rows;
}

function causeOf(gone: readonly GoneMonth[]): string {
  const detached = gone.filter((g) => g.detached).map((g) => g.month);
  const dropped = gone.filter((g) => !g.detached).map((g) => g.month);
  const causes: string[] = [];
  if (dropped.length > 0)
    causes.push(
      `no partition holds its months ${dropped.join(', ')} any more (dropped by retention with --drop, or by an operator): restore them from a backup`,
    );
  if (detached.length > 0)
    causes.push(
      `its months ${detached.join(', ')} sit in the archive schema without being attached: run agate partitions maintain to attach them`,
    );
  if (causes.length === 0)
    causes.push(
      "every month of its time range has its partition, so they were deleted behind the store's back: restore them from a backup",
    );
  return causes.join('; ');
}

/**
 * The `integrity_violation` for a read that did not find events `first`..`last` of a session,
 * with its cause: months of the session's time range that are gone (dropped, or detached and not
 * attached), or else events deleted from months that exist. Details: `kind: 'missing'`,
 * `sequence` (the first missing), `lastMissing` and `goneMonths` ('YYYY-MM'). In the caller's
 * transaction; reads only the catalog.
 */
export async function missingEvents(
  tx: PoolClient,
  session: EventBounds & { id: string },
  first: number,
  last: number,
): Promise<AgateError> {
  const gone = await goneMonths(tx, session);
  const range = first === last ? `Event ${first}` : `Events ${first} to ${last}`;
  return new AgateError(
    'integrity_violation',
    `${range} of session ${session.id} ${first === last ? 'is' : 'are'} missing from the store: ${causeOf(gone)}. Run a replay with verify to see every divergence.`,
    {
      details: {
        kind: 'missing',
        sequence: first,
        lastMissing: last,
        goneMonths: gone.map((g) => g.month),
      },
    },
  );
}
