import type { Pool } from '../../../src/db/index.js';
import type { Committed, Ledger } from './feed-proof-writers.js';

// What the feed's adversarial test reads back and how it judges it. Positions are compared as
// the feed orders them: (transaction id, session id, sequence).

export type Position = { xid: bigint; sessionId: string; sequence: number };

export function comparePositions(a: Position, b: Position): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  if (a.sessionId !== b.sessionId) return a.sessionId < b.sessionId ? -1 : 1;
  return a.sequence - b.sequence;
}

export type ProjectionRow = {
  id: number;
  consumer: string;
  tenantId: string;
  sessionId: string;
  sequence: number;
  eventId: string;
  xid: bigint;
  slot: number;
  epoch: number | null;
  owner: string | null;
  member: string;
  incarnation: number;
  stampedAt: number;
};

export const projectionDdl = `
  CREATE SCHEMA proof;
  CREATE TABLE proof.projection (
    id bigserial PRIMARY KEY,
    consumer text NOT NULL, tenant_id uuid NOT NULL, session_id uuid NOT NULL,
    sequence bigint NOT NULL, event_id uuid NOT NULL, position_xid xid8 NOT NULL,
    slot integer NOT NULL, epoch bigint, owner text, member text NOT NULL,
    incarnation integer NOT NULL, stamped_at timestamptz NOT NULL,
    UNIQUE (consumer, session_id, sequence));
  CREATE TABLE proof.scratch (id bigserial PRIMARY KEY, note text);
  GRANT USAGE ON SCHEMA proof TO agate_app;
  GRANT SELECT, INSERT ON proof.projection TO agate_app;
  GRANT USAGE ON SEQUENCE proof.projection_id_seq TO agate_app;`;

export async function readProjection(pool: Pool): Promise<ProjectionRow[]> {
  const r = await pool.query<Record<string, string | number | null>>(
    `SELECT id::float8 AS id, consumer, tenant_id, session_id, sequence, event_id,
            position_xid::text AS xid, slot, epoch::float8 AS epoch, owner, member, incarnation,
            (extract(epoch FROM stamped_at) * 1000)::float8 AS stamped_at
       FROM proof.projection ORDER BY id`,
  );
  return r.rows.map((row) => ({
    id: Number(row.id),
    consumer: String(row.consumer),
    tenantId: String(row.tenant_id),
    sessionId: String(row.session_id),
    sequence: Number(row.sequence),
    eventId: String(row.event_id),
    xid: BigInt(String(row.xid)),
    slot: Number(row.slot),
    epoch: row.epoch === null ? null : Number(row.epoch),
    owner: row.owner === null ? null : String(row.owner),
    member: String(row.member),
    incarnation: Number(row.incarnation),
    stampedAt: Number(row.stamped_at),
  }));
}

/** Every stored event's feed position, by event id (read as the owner: every tenant). */
export async function readPositions(pool: Pool): Promise<Map<string, Position>> {
  const r = await pool.query<{
    event_id: string;
    xid: string;
    session_id: string;
    sequence: number;
  }>('SELECT event_id, transaction_id::text AS xid, session_id, sequence FROM game.events');
  return new Map(
    r.rows.map((e) => [
      e.event_id,
      { xid: BigInt(e.xid), sessionId: e.session_id, sequence: Number(e.sequence) },
    ]),
  );
}

type Placed = Committed & { position: Position };

export function placed(ledger: Ledger, positions: Map<string, Position>): Placed[] {
  return [...ledger.committed.values()]
    .map((c) => ({ ...c, position: positions.get(c.eventId)! }))
    .sort((a, b) => comparePositions(a.position, b.position));
}

/** The events of each transaction, in feed order (`events` sorted by position). */
function transactions(events: readonly Placed[]): Placed[][] {
  const groups: Placed[][] = [];
  for (const e of events) {
    const last = groups.at(-1);
    if (last !== undefined && last[0]!.position.xid === e.position.xid) last.push(e);
    else groups.push([e]);
  }
  return groups;
}

/**
 * The hazard: committed events whose COMMIT began after a transaction at a higher position had
 * already committed, so that a reader of `position > checkpoint` could pass them by.
 */
export function lateCommits(events: readonly Placed[]): number {
  let late = 0;
  let earliestEndAbove = Number.POSITIVE_INFINITY;
  for (const group of transactions(events).reverse()) {
    late += group.filter((e) => e.commitStart > earliestEndAbove).length;
    for (const e of group) earliestEndAbove = Math.min(earliestEndAbove, e.commitEnd);
  }
  return late;
}

/**
 * Deliveries that came before a transaction at a lower position had committed: the skip that
 * the horizon prevents. Each delivery is checked against the latest COMMIT start of every lower
 * transaction (1 ms of slack: the ledger's clock is Date.now(), the delivery's clock_timestamp()).
 */
export function deliveredBeforeLowerCommit(
  events: readonly Placed[],
  rows: readonly ProjectionRow[],
): number {
  const latestStartBelow = new Map<string, number>();
  let latest = Number.NEGATIVE_INFINITY;
  for (const group of transactions(events)) {
    for (const e of group) latestStartBelow.set(e.eventId, latest);
    for (const e of group) latest = Math.max(latest, e.commitStart);
  }
  return rows.filter((row) => (latestStartBelow.get(row.eventId) ?? -Infinity) > row.stampedAt + 1)
    .length;
}
