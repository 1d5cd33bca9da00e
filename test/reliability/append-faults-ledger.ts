import { createHash } from 'node:crypto';
import { isAgateError } from '../../src/errors/index.js';
import type { AgateError } from '../../src/errors/index.js';
import type { AppendAccepted, EventStore, NewEvent } from '../../src/events/index.js';

/**
 * Writers that append with stable event ids and retry a batch until it is acknowledged, and the
 * ledger of what they were told, for the fault tests (append-faults, terminate-backend).
 */

/** A number in [0, 1) from the parts: the same parts give the same number on every run. */
export function unitHash(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('/')).digest().readUInt32BE(0) / 2 ** 32;
}

/** A UUID (v4 layout) from the parts, so a rerun with the same seed sends the same event ids. */
export function stableEventId(...parts: (string | number)[]): string {
  const hex = createHash('sha256').update(parts.join('/')).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export type Batch = {
  sessionId: string;
  events: NewEvent[];
  eventIds: string[];
  /** Kept on every retry: the batch is one decision taken at this sequence. */
  expectedSequence: number;
};

/** What a batch that was never acknowledged must look like in the store afterwards. */
export type Expectation = 'present' | 'absent';

export type Unacknowledged = { batch: Batch; expect: Expectation; why: string };

export type Ledger = {
  /** Event id → where its acknowledgement put it. */
  acked: Map<string, { sessionId: string; sequence: number }>;
  unacked: Unacknowledged[];
  /** Contradictions noticed while writing (an event acknowledged at two sequences...). */
  problems: string[];
  batches: number;
  ackedBatches: number;
  failedAttempts: number;
  /** Acknowledgements with `duplicate: true`: an earlier attempt had committed. */
  duplicateAcks: number;
  conflicts: number;
};

export function createLedger(): Ledger {
  return {
    acked: new Map(),
    unacked: [],
    problems: [],
    batches: 0,
    ackedBatches: 0,
    failedAttempts: 0,
    duplicateAcks: 0,
    conflicts: 0,
  };
}

/** What a failed attempt leads to: the same batch again, or giving up on it. */
export type AfterFailure = 'retry' | { abandon: Expectation; why: string };

export type WriterOptions = {
  store: EventStore;
  tenantId: string;
  sessionId: string;
  /** With `writer`, names the event ids: the same seed gives the same ids. */
  seed: string;
  writer: number;
  ledger: Ledger;
  /** Asked before each new batch. */
  more(): boolean;
  onFailure?(batch: Batch, attempt: number, error: AgateError): AfterFailure;
  onAck?(batch: Batch, result: AppendAccepted, attempts: number): void;
  /** A batch still unacknowledged after this many attempts fails the run (default 50). */
  maxAttempts?: number;
};

/** Connection lost, backend gone, lock or statement timeout: the typed client retries these. */
export function isRetryable(error: unknown): error is AgateError {
  return (
    isAgateError(error, 'unavailable') ||
    isAgateError(error, 'session_busy') ||
    isAgateError(error, 'timeout')
  );
}

/** Runs `work` again while it fails with a retryable error (reads during faults). */
export async function retrying<T>(work: () => Promise<T>, attempts = 50): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!isRetryable(error) || attempt >= attempts) throw error;
    }
  }
}

function makeBatch(options: WriterOptions, n: number, expectedSequence: number): Batch {
  const { seed, writer } = options;
  const size = 1 + Math.floor(unitHash(seed, writer, n, 'size') * 4);
  const eventIds = Array.from({ length: size }, (_, i) => stableEventId(seed, writer, n, i));
  const events: NewEvent[] = eventIds.map((eventId, i) =>
    unitHash(seed, writer, n, i, 'type') < 0.08
      ? { eventId, type: 'note.written', version: 1, data: { text: `w${writer} b${n}` } }
      : { eventId, type: 'counter.incremented', version: 1, data: { by: writer * 1000 + i } },
  );
  return { sessionId: options.sessionId, events, eventIds, expectedSequence };
}

function recordAck(ledger: Ledger, batch: Batch, result: AppendAccepted): void {
  ledger.ackedBatches += 1;
  if (result.duplicate) ledger.duplicateAcks += 1;
  batch.eventIds.forEach((eventId, i) => {
    const sequence = result.firstSequence + i;
    const before = ledger.acked.get(eventId);
    if (before !== undefined && before.sequence !== sequence) {
      ledger.problems.push(`event ${eventId} acknowledged at ${before.sequence} and ${sequence}`);
    }
    ledger.acked.set(eventId, { sessionId: batch.sessionId, sequence });
  });
}

type Settled =
  | { kind: 'acked'; lastSequence: number }
  | { kind: 'conflict'; currentSequence: number | null }
  | { kind: 'abandoned' };

async function appendUntilAnswered(options: WriterOptions, batch: Batch): Promise<Settled> {
  const { store, tenantId, ledger } = options;
  const maxAttempts = options.maxAttempts ?? 50;
  for (let attempt = 1; ; attempt += 1) {
    let result;
    try {
      result = await store.appendEvents({
        tenantId,
        sessionId: batch.sessionId,
        events: batch.events,
        expectedSequence: batch.expectedSequence,
      });
    } catch (error) {
      if (!isRetryable(error) || attempt >= maxAttempts) throw error;
      ledger.failedAttempts += 1;
      const next = options.onFailure?.(batch, attempt, error) ?? 'retry';
      if (next === 'retry') continue;
      ledger.unacked.push({ batch, expect: next.abandon, why: next.why });
      return { kind: 'abandoned' };
    }
    if (result.ok) {
      recordAck(ledger, batch, result);
      options.onAck?.(batch, result, attempt);
      return { kind: 'acked', lastSequence: result.lastSequence };
    }
    if (result.reason !== 'sequence_conflict') {
      throw new Error(`batch ${batch.eventIds[0]} refused: ${result.reason}: ${result.message}`);
    }
    // Refused before writing anything (a stored batch would have been answered as a duplicate).
    ledger.conflicts += 1;
    ledger.unacked.push({ batch, expect: 'absent', why: 'sequence_conflict' });
    return { kind: 'conflict', currentSequence: result.currentSequence };
  }
}

/**
 * One writer: batches of 1..4 events on one session, each with `expectedSequence` (the last
 * sequence it knows), retried with the same ids and the same expectation until answered. A
 * conflict (another writer got there first) drops the batch and starts a new one at the new head.
 */
export async function runWriter(options: WriterOptions): Promise<void> {
  const { store, tenantId, sessionId } = options;
  const head = () => retrying(() => store.getSession({ tenantId, sessionId }));
  let expected = (await head()).lastSequence;
  for (let n = 0; options.more(); n += 1) {
    options.ledger.batches += 1;
    const settled = await appendUntilAnswered(options, makeBatch(options, n, expected));
    if (settled.kind === 'acked') expected = settled.lastSequence;
    else if (settled.kind === 'conflict' && settled.currentSequence !== null) {
      expected = settled.currentSequence;
    } else expected = (await head()).lastSequence;
  }
}
