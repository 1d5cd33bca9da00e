import type { Pool } from '../../src/db/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { firstBrokenLink } from '../support/chain.js';
import { allEvents } from '../support/store-fixture.js';
import type { Ledger } from './append-faults-ledger.js';

/** The store after a faulty run, against what the writers were told. */
export type StoreReport = {
  /** Contradictions, one sentence each: empty when the run was sound. */
  problems: string[];
  /** Acknowledged events missing, or stored elsewhere than acknowledged. */
  lost: number;
  /** Stored copies beyond the first (of an event id, or of a session's sequence). */
  duplicated: number;
  events: number;
  unackedPresent: number;
  unackedAbsent: number;
  /** Sessions whose genesis replay verified (chain, head, every snapshot). */
  verified: number;
  snapshots: number;
};

type Row = { session_id: string; sequence: number; event_id: string };

function countDuplicates(rows: readonly Row[], report: StoreReport): Map<string, Row[]> {
  const byId = new Map<string, Row[]>();
  const bySequence = new Set<string>();
  for (const row of rows) {
    byId.set(row.event_id, [...(byId.get(row.event_id) ?? []), row]);
    const place = `${row.session_id}/${row.sequence}`;
    if (bySequence.has(place)) {
      report.duplicated += 1;
      report.problems.push(`sequence ${place} is stored twice`);
    }
    bySequence.add(place);
  }
  for (const [eventId, copies] of byId) {
    if (copies.length > 1) {
      report.duplicated += copies.length - 1;
      report.problems.push(`event ${eventId} is stored ${copies.length} times`);
    }
  }
  return byId;
}

function checkLedger(byId: Map<string, Row[]>, ledger: Ledger, report: StoreReport): void {
  for (const [eventId, at] of ledger.acked) {
    const found = byId.get(eventId) ?? [];
    if (!found.some((r) => r.session_id === at.sessionId && r.sequence === at.sequence)) {
      report.lost += 1;
      report.problems.push(`acknowledged event ${eventId} (sequence ${at.sequence}) is missing`);
    }
  }
  for (const { batch, expect, why } of ledger.unacked) {
    const stored = batch.eventIds.filter((id) => byId.has(id)).length;
    const state =
      stored === 0 ? 'absent' : stored === batch.eventIds.length ? 'present' : 'partial';
    if (state === 'present') report.unackedPresent += 1;
    if (state === 'absent') report.unackedAbsent += 1;
    if (state !== expect) {
      report.problems.push(
        `unacknowledged batch ${batch.eventIds[0]} (${why}) is ${state}, expected ${expect} (${stored}/${batch.eventIds.length} events)`,
      );
    }
  }
}

async function checkSession(
  agate: Agate,
  ref: { tenantId: string; sessionId: string },
  sequences: readonly number[],
  report: StoreReport,
): Promise<void> {
  const session = await agate.store.getSession(ref);
  const n = session.lastSequence;
  if (sequences.length !== n || sequences.some((s, i) => s !== i + 1)) {
    report.problems.push(`session ${ref.sessionId}: sequences are not exactly 1..${n}`);
  }
  const broken = firstBrokenLink(session, await allEvents(agate.store, session));
  if (broken !== null) {
    report.problems.push(`session ${ref.sessionId}: hash chain broken at ${broken}`);
  }
  const replay = await agate.replay({ ...ref, verify: true, from: 'genesis' });
  if (replay.verified === true && replay.divergences.length === 0 && replay.sequence === n) {
    report.verified += 1;
  } else {
    report.problems.push(
      `session ${ref.sessionId}: replay verified=${String(replay.verified)} at ${replay.sequence}/${n}, divergences ${JSON.stringify(replay.divergences).slice(0, 500)}`,
    );
  }
}

/**
 * Reads the tenant's events through `owner` (a direct connection that bypasses row-level
 * security) and checks them against the ledger; replays every session with `agate` (built on a
 * direct pool, never on the faulty path) with verify from genesis.
 */
export async function checkStore(
  owner: Pool,
  agate: Agate,
  tenantId: string,
  sessionIds: readonly string[],
  ledger: Ledger,
): Promise<StoreReport> {
  const report: StoreReport = {
    problems: [...ledger.problems],
    lost: 0,
    duplicated: 0,
    events: 0,
    unackedPresent: 0,
    unackedAbsent: 0,
    verified: 0,
    snapshots: 0,
  };
  const { rows } = await owner.query<Row>(
    `SELECT session_id::text, sequence::int AS sequence, event_id::text
       FROM game.events WHERE tenant_id = $1 ORDER BY session_id, sequence`,
    [tenantId],
  );
  report.events = rows.length;
  checkLedger(countDuplicates(rows, report), ledger, report);
  for (const sessionId of sessionIds) {
    const sequences = rows.filter((r) => r.session_id === sessionId).map((r) => r.sequence);
    await checkSession(agate, { tenantId, sessionId }, sequences, report);
  }
  const snapshots = await owner.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM game.snapshots WHERE tenant_id = $1',
    [tenantId],
  );
  report.snapshots = snapshots.rows[0]?.n ?? 0;
  return report;
}
