// The tenant's feed: its committed events in (transaction_id, session_id, sequence) order, from
// game.events and archive.events. Invariants (ADR 0021): a page holds only events of transactions
// older than every transaction still open when its statement's snapshot was taken
// (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`, one snapshot for the rows and the
// horizon), so every transaction that could still add an event before the page's last position
// has ended, and its events, if it committed, are in the page or before it: a page never skips.
// Runs in the caller's transaction, under its tenant (RLS); each branch walks events_feed_idx in
// order and stops at the limit, merged without a sort.
import type { PoolClient } from '../db/index.js';
import { clientTimeSql, storedClientTime } from './client-time.js';
import { beforeHorizon } from './feed-now.js';
import { compareFeedPositions } from './feed-position.js';
import type { FeedPosition } from './feed-position.js';

/** One delivered event. `previousSequence` is described on `FeedPageInput.types`. */
export type FeedEvent = {
  position: FeedPosition;
  tenantId: string;
  sessionId: string;
  sequence: number;
  /**
   * The sequence of the session's previous event that the same filter delivers (0: none), read
   * from the log, not from the delivery: a consumer that never saw it knows it missed one.
   */
  previousSequence: number;
  eventId: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
  clientTime: string | null;
  serverTime: Date;
  /** Hex chain hash: sha256(previous hash || sequence || content hash). */
  hash: string;
};

export type FeedPageInput = {
  after: FeedPosition;
  limit: number;
  /**
   * Only these event types (null: all). With a filter, each event's `previousSequence` is the
   * session's previous event of one of these types; without, it is `sequence - 1`.
   */
  types: readonly string[] | null;
  /** Only this session's events. */
  sessionId: string | null;
  /** Only sessions in these of `count` slots (`get_byte(uuid_send(session_id), 15) % count`). */
  slots: { count: number; owned: readonly number[] } | null;
};

export type FeedPage = {
  events: FeedEvent[];
  /**
   * True when a page short of its limit was followed by committed events that pass the same
   * filters: they wait behind a transaction still open (past the horizon), or became
   * deliverable since the page's snapshot. Either way the reader should look again soon rather
   * than wait for a wake-up. Read in a second statement on the newer snapshot, so it errs
   * towards looking again: false means nothing matching was committed past the page then.
   */
  held: boolean;
};

/**
 * A page as a consumer reads it: with `through`, the position up to which the feed was read for
 * this filter. A full page: its last event. A short one: the horizon when the filter passed over
 * events of the tenant that it does not deliver (a type- or slot-filtered reader checkpoints
 * past them instead of scanning them again at every read), else its last event; null when it
 * holds none and skipped none.
 */
export type FeedRead = FeedPage & { through: FeedPosition | null };

type FeedRow = {
  horizon: string;
  transaction_id: string | null;
  tenant_id: string;
  session_id: string;
  sequence: number;
  previous_sequence: number;
  event_id: string;
  event_type: string;
  event_version: number;
  event_data: Record<string, unknown>;
  client_time: string | null;
  server_time: Date;
  hash: Buffer;
};

function branch(table: string, filters: string): string {
  return `(SELECT transaction_id, tenant_id, session_id, sequence, event_id, event_type,
                  event_version, event_data, client_time, server_time, hash
             FROM ${table}
            WHERE (transaction_id, session_id, sequence) > ($1::xid8, $2::uuid, $3::bigint)
              AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())${filters}
            ORDER BY transaction_id, session_id, sequence LIMIT $4)`;
}

function previousOf(table: string, types: string): string {
  return `(SELECT p.sequence FROM ${table} p
            WHERE p.session_id = f.session_id AND p.sequence < f.sequence
              AND p.event_type = ANY(${types})
            ORDER BY p.sequence DESC LIMIT 1)`;
}

/**
 * The statement and its parameters: after (transaction, session, sequence) and limit, then the
 * filters' values, numbered in the order they apply (PostgreSQL refuses a parameter no statement
 * uses). Exported for the plan test.
 */
export function feedPageQuery(input: FeedPageInput): {
  text: string;
  held: string;
  values: unknown[];
  /** Whether `held` takes the skipped check's four parameters after `values`. */
  skippedParams: boolean;
} {
  const { after } = input;
  const values: unknown[] = [after.transactionId, after.sessionId, after.sequence, input.limit];
  const param = (value: unknown, type: string) => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const types = input.types === null ? null : param(input.types, 'text[]');
  const filters = [
    types === null ? '' : `\n              AND event_type = ANY(${types})`,
    input.sessionId === null
      ? ''
      : `\n              AND session_id = ${param(input.sessionId, 'uuid')}`,
    input.slots === null
      ? ''
      : `\n              AND get_byte(uuid_send(session_id), 15) % ${param(input.slots.count, 'integer')}` +
        ` = ANY(${param(input.slots.owned, 'integer[]')})`,
  ].join('');
  const previous =
    types === null
      ? 'f.sequence - 1'
      : `coalesce(greatest(${previousOf('game.events', types)}, ${previousOf('archive.events', types)}), 0)`;
  // The page, and beside it the horizon of the same snapshot (one row of nulls when the page is
  // empty): every matching event of an older transaction is in a short page or before `after`.
  const text = `WITH page AS MATERIALIZED (
          SELECT f.transaction_id AS feed_transaction, f.transaction_id::text AS transaction_id, f.tenant_id, f.session_id, f.sequence,
                 ${previous} AS previous_sequence, f.event_id, f.event_type, f.event_version,
                 f.event_data, ${clientTimeSql('f.client_time')} AS client_time, f.server_time,
                 f.hash
            FROM (${branch('game.events', filters)}
                  UNION ALL
                  ${branch('archive.events', filters)}
                  ORDER BY 1, 3, 4 LIMIT $4) AS f)
        SELECT h.horizon, page.*
          FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon) AS h
          LEFT JOIN page ON true
         ORDER BY page.feed_transaction, page.session_id, page.sequence`;
  // After a short page: held, from the later of the page's last event and the horizon (matching
  // events between them would be in the page), so the check starts where new events are; and
  // for a filtered page, whether the filter passed over any of the tenant's events before the
  // horizon (one index probe; game.events only: a reader behind in archived months scans them
  // again next time, which costs time, never an event). Archived months never hold anything
  // back (retention moves only months long committed).
  const n = values.length;
  const skipped =
    types === null && input.slots === null
      ? 'false'
      : `EXISTS (SELECT 1 FROM game.events
       WHERE (transaction_id, session_id, sequence) > ($${n + 1}::xid8, $${n + 2}::uuid, $${n + 3}::bigint)
         AND transaction_id < $${n + 4}::xid8)`;
  const held = `SELECT EXISTS (
      SELECT 1 FROM game.events
       WHERE (transaction_id, session_id, sequence) > ($1::xid8, $2::uuid, $3::bigint)
         AND $4::integer > 0${filters}) AS held, ${skipped} AS skipped`;
  return { text, held, values, skippedParams: skipped !== 'false' };
}

/** The next page of the tenant's feed after `input.after`. In the caller's transaction. */
export async function selectFeedPage(tx: PoolClient, input: FeedPageInput): Promise<FeedRead> {
  const { text, held: heldText, values, skippedParams } = feedPageQuery(input);
  const result = await tx.query<FeedRow>(text, values);
  const horizon = result.rows[0]?.horizon ?? '0';
  const events = result.rows.flatMap((r): FeedEvent[] =>
    r.transaction_id === null
      ? []
      : [
          {
            position: {
              transactionId: r.transaction_id,
              sessionId: r.session_id,
              sequence: r.sequence,
            },
            tenantId: r.tenant_id,
            sessionId: r.session_id,
            sequence: r.sequence,
            previousSequence: r.previous_sequence,
            eventId: r.event_id,
            type: r.event_type,
            version: r.event_version,
            data: r.event_data,
            clientTime: storedClientTime(r.client_time),
            serverTime: r.server_time,
            hash: r.hash.toString('hex'),
          },
        ],
  );
  const lastEvent = events.at(-1)?.position ?? null;
  if (events.length === input.limit) return { events, held: false, through: lastEvent };
  const last = lastEvent ?? input.after;
  const edge = beforeHorizon(horizon);
  const from = compareFeedPositions(edge, last) > 0 ? edge : last;
  const checked = await tx.query<{ held: boolean; skipped: boolean }>(heldText, [
    from.transactionId,
    from.sessionId,
    from.sequence,
    ...values.slice(3),
    ...(skippedParams ? [last.transactionId, last.sessionId, last.sequence, horizon] : []),
  ]);
  const row = checked.rows[0];
  const through = row?.skipped === true && from === edge ? edge : lastEvent;
  return { events, held: row?.held === true, through };
}
