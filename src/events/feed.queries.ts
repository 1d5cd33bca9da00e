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

type FeedRow = {
  transaction_id: string;
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
  const text = `SELECT f.transaction_id::text AS transaction_id, f.tenant_id, f.session_id, f.sequence,
                 ${previous} AS previous_sequence, f.event_id, f.event_type, f.event_version,
                 f.event_data, ${clientTimeSql('f.client_time')} AS client_time, f.server_time,
                 f.hash
            FROM (${branch('game.events', filters)}
                  UNION ALL
                  ${branch('archive.events', filters)}
                  ORDER BY 1, 3, 4 LIMIT $4) AS f
           ORDER BY f.transaction_id, f.session_id, f.sequence`;
  // Archived months never hold anything back (retention moves only months long committed).
  const held = `SELECT EXISTS (
      SELECT 1 FROM game.events
       WHERE (transaction_id, session_id, sequence) > ($1::xid8, $2::uuid, $3::bigint)
         AND $4::integer > 0${filters}) AS held`;
  return { text, held, values };
}

/** The next page of the tenant's feed after `input.after`. In the caller's transaction. */
export async function selectFeedPage(tx: PoolClient, input: FeedPageInput): Promise<FeedPage> {
  const { text, held: heldText, values } = feedPageQuery(input);
  const result = await tx.query<FeedRow>(text, values);
  const events = result.rows.map((r): FeedEvent => ({
    position: { transactionId: r.transaction_id, sessionId: r.session_id, sequence: r.sequence },
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
  }));
  if (events.length === input.limit) return { events, held: false };
  const last = events.at(-1)?.position ?? input.after;
  const held = await tx.query<{ held: boolean }>(heldText, [
    last.transactionId,
    last.sessionId,
    last.sequence,
    ...values.slice(3),
  ]);
  return { events, held: held.rows[0]?.held === true };
}
