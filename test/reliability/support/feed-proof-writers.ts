import { setTimeout as pause } from 'node:timers/promises';
import type { Pool } from '../../../src/db/index.js';
import type { EventStore, NewEvent } from '../../../src/events/index.js';
import { stableEventId, unitHash } from '../append-faults-ledger.js';

// The writers of the feed's adversarial test: the real append path, where a seeded share of the
// appends runs inside a transaction the writer holds open for a while before it commits (or
// rolls back), so transactions commit out of the order of their ids: the order a reader of
// `position > checkpoint` would see them in, and skip the late ones.

/** One event the ledger knows was committed: when its COMMIT was sent and when it returned. */
export type Committed = {
  eventId: string;
  tenantId: string;
  sessionId: string;
  commitStart: number;
  commitEnd: number;
};

export type Ledger = {
  committed: Map<string, Committed>;
  rolledBack: Set<string>;
  /** Appends the store refused or that failed (a lock timeout behind a held session): nothing stored. */
  refused: number;
  held: number;
};

export function createLedger(): Ledger {
  return { committed: new Map(), rolledBack: new Set(), refused: 0, held: 0 };
}

export type WriterPlan = {
  seed: string;
  writers: number;
  appendsPerWriter: number;
  /** Sessions to write to, each with its tenant. */
  sessions: readonly { tenantId: string; sessionId: string }[];
  /** Share of appends held open before their end, of those the share rolled back. */
  heldShare: number;
  rollbackShare: number;
  maxHoldMs: number;
  /** Longest pause between one writer's appends (the pace of the run). */
  maxGapMs: number;
  /** Past `appendsPerWriter`, each writer goes on while this holds (default: it stops). */
  keepGoing?: () => boolean;
};

function batchOf(plan: WriterPlan, writer: number, n: number): NewEvent[] {
  const size = 1 + Math.floor(unitHash(plan.seed, writer, n, 'size') * 3);
  return Array.from({ length: size }, (_, i) => ({
    eventId: stableEventId(plan.seed, writer, n, i),
    type: 'counter.incremented',
    version: 2,
    data: { by: 1 + i, note: `w${writer}-${n}` },
  }));
}

function record(ledger: Ledger, events: readonly NewEvent[], at: Committed): void {
  for (const e of events) ledger.committed.set(e.eventId!, { ...at, eventId: e.eventId! });
}

/** One held append: BEGIN, the store's append in that transaction, a hold, then COMMIT or ROLLBACK. */
async function heldAppend(
  store: EventStore,
  pool: Pool,
  target: { tenantId: string; sessionId: string },
  events: NewEvent[],
  end: { holdMs: number; rollback: boolean },
  ledger: Ledger,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await store.appendEventsInTransaction(client, { ...target, events });
    await pause(end.holdMs);
    if (!result.ok || end.rollback) {
      await client.query('ROLLBACK');
      if (result.ok) for (const e of events) ledger.rolledBack.add(e.eventId!);
      else ledger.refused += 1;
      return;
    }
    const commitStart = Date.now();
    await client.query('COMMIT');
    record(ledger, events, { ...target, eventId: '', commitStart, commitEnd: Date.now() });
  } catch {
    await client.query('ROLLBACK').catch(() => undefined);
    ledger.refused += 1;
  } finally {
    client.release();
  }
}

async function plainAppend(
  store: EventStore,
  target: { tenantId: string; sessionId: string },
  events: NewEvent[],
  ledger: Ledger,
): Promise<void> {
  const commitStart = Date.now();
  try {
    const result = await store.appendEvents({ ...target, events });
    if (result.ok) {
      record(ledger, events, { ...target, eventId: '', commitStart, commitEnd: Date.now() });
    } else {
      ledger.refused += 1;
    }
  } catch {
    ledger.refused += 1;
  }
}

/** Runs every writer to the end of its plan; the ledger says what committed and what did not. */
export async function runWriters(
  store: EventStore,
  pool: Pool,
  plan: WriterPlan,
  ledger: Ledger,
): Promise<void> {
  const writer = async (w: number) => {
    const more = plan.keepGoing ?? (() => false);
    for (let n = 0; n < plan.appendsPerWriter || more(); n += 1) {
      const u = (what: string) => unitHash(plan.seed, w, n, what);
      const target = plan.sessions[Math.floor(u('session') * plan.sessions.length)]!;
      const events = batchOf(plan, w, n);
      if (u('held') < plan.heldShare) {
        ledger.held += 1;
        const end = { holdMs: u('hold') * plan.maxHoldMs, rollback: u('end') < plan.rollbackShare };
        await heldAppend(store, pool, target, events, end, ledger);
      } else {
        await plainAppend(store, target, events, ledger);
      }
      await pause(u('gap') * plan.maxGapMs);
    }
  };
  await Promise.all(Array.from({ length: plan.writers }, (_, w) => writer(w)));
}
