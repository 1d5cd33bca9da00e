import type { Pool } from '../../../src/db/index.js';
import type { Agate } from '../../../src/runtime/index.js';
import { firstBrokenLink } from '../../support/chain.js';
import { allEvents } from '../../support/store-fixture.js';
import { mapLimit } from './load-writers.js';
import type { LoadRun } from './load-writers.js';

/** What the store holds after a load run, against what the writers were told. */
export type StoredCheck = {
  sessions: number;
  events: number;
  /** Acknowledged events missing, or stored at another sequence than acknowledged. */
  lost: number;
  /** Stored copies of an event beyond its first. */
  duplicated: number;
  /** Stored events no writer sent as far as the run knows. */
  unknown: number;
  /** Unsettled batches (no answer) stored in part. */
  partial: number;
  /** Sessions whose sequences are not exactly 1..lastSequence. */
  gapped: number;
};

type Row = { session_id: string; sequence: number; event_id: string; last_sequence: number };

/** Reads every event of the sessions (as the owner) and compares it with the run's record. */
export async function checkStored(
  pool: Pool,
  sessionIds: readonly string[],
  run: LoadRun,
): Promise<StoredCheck> {
  const r = await pool.query<Row>(
    `SELECT e.session_id, e.sequence::int AS sequence, e.event_id, s.last_sequence::int AS last_sequence
       FROM game.sessions s LEFT JOIN game.events e ON e.session_id = s.id
      WHERE s.id = ANY($1::uuid[]) ORDER BY e.session_id, e.sequence`,
    [sessionIds],
  );
  const rows = r.rows.filter((row) => row.event_id !== null);
  const seen = new Map<string, number>();
  for (const row of rows) seen.set(row.event_id, (seen.get(row.event_id) ?? 0) + 1);
  const at = new Map(rows.map((row) => [row.event_id, row]));
  let lost = 0;
  for (const [eventId, ack] of run.acked) {
    const row = at.get(eventId);
    if (row?.session_id !== ack.sessionId || row.sequence !== ack.sequence) lost += 1;
  }
  const unsettled = new Set(run.unsettled.flatMap((b) => b.eventIds));
  const partial = run.unsettled.filter((b) => {
    const present = b.eventIds.filter((id) => seen.has(id)).length;
    return present > 0 && present < b.eventIds.length;
  }).length;
  return {
    sessions: sessionIds.length,
    events: rows.length,
    lost,
    duplicated: [...seen.values()].reduce((n, copies) => n + copies - 1, 0),
    unknown: [...seen.keys()].filter((id) => !run.acked.has(id) && !unsettled.has(id)).length,
    partial,
    gapped: gappedSessions(r.rows),
  };
}

function gappedSessions(rows: readonly Row[]): number {
  const bySession = new Map<string, { last: number; sequences: number[] }>();
  for (const row of rows) {
    const entry = bySession.get(row.session_id) ?? { last: row.last_sequence, sequences: [] };
    if (row.event_id !== null) entry.sequences.push(row.sequence);
    bySession.set(row.session_id, entry);
  }
  let gapped = 0;
  for (const { last, sequences } of bySession.values()) {
    const exact = sequences.length === last && sequences.every((s, i) => s === i + 1);
    if (!exact) gapped += 1;
  }
  return gapped;
}

/** Recomputes every session's hash chain from its root, through the store's own stream. */
export async function brokenChains(
  agate: Agate,
  tenantId: string,
  sessionIds: readonly string[],
): Promise<string[]> {
  const broken = await mapLimit(sessionIds, 6, async (sessionId) => {
    const session = await agate.store.getSession({ tenantId, sessionId });
    const events = await allEvents(agate.store, session);
    return firstBrokenLink(session, events) === null ? null : sessionId;
  });
  return broken.filter((id): id is string => id !== null);
}

/** Replays each session from genesis with verify (chain, snapshots, head); returns the failures. */
export async function unverified(
  agate: Agate,
  tenantId: string,
  sessionIds: readonly string[],
): Promise<string[]> {
  const failed = await mapLimit(sessionIds, 4, async (sessionId) => {
    const result = await agate.replay({ tenantId, sessionId, verify: true });
    return result.verified === true ? null : sessionId;
  });
  return failed.filter((id): id is string => id !== null);
}
