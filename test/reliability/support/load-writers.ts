import { uuidv7 } from 'uuidv7';
import { isAgateClientError } from '../../../src/client/index.js';
import type { AgateClient, AppendResult, NewEvent } from '../../../src/client/index.js';

/** What the writers of one load run saw: every call's latency, every error, every acknowledgement. */
export type LoadRun = {
  label: string;
  durationMs: number;
  /** Milliseconds per append call (retries inside the client included), whatever its outcome. */
  latencies: number[];
  errors: Map<string, number>;
  /** Event id -> where it was acknowledged. */
  acked: Map<string, { sessionId: string; sequence: number }>;
  /** Batches that ended in an error other than sequence_conflict: stored whole or not at all. */
  unsettled: { sessionId: string; eventIds: string[] }[];
  /** The same event acknowledged at two places (never expected). */
  contradictions: number;
};

export function newLoadRun(label: string): LoadRun {
  return {
    label,
    durationMs: 0,
    latencies: [],
    errors: new Map(),
    acked: new Map(),
    unsettled: [],
    contradictions: 0,
  };
}

/** A small deterministic generator, so that a run's batch sizes and sessions can be replayed. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** 1 to `max` increments of the tiny game, with ids fixed here so that any batch can be looked up. */
export function batchOf(random: () => number, max: number): NewEvent[] {
  const size = 1 + Math.floor(random() * max);
  return Array.from({ length: size }, (_, i) => ({
    eventId: uuidv7(),
    type: 'counter.incremented',
    version: 1,
    data: { by: i + 1 },
  }));
}

function recordAck(run: LoadRun, sessionId: string, result: AppendResult): void {
  for (const e of result.events) {
    const seen = run.acked.get(e.eventId);
    if (seen !== undefined && (seen.sessionId !== sessionId || seen.sequence !== e.sequence)) {
      run.contradictions += 1;
    }
    run.acked.set(e.eventId, { sessionId, sequence: e.sequence });
  }
}

function countError(run: LoadRun, error: unknown): string {
  const code = isAgateClientError(error) ? error.code : 'thrown';
  run.errors.set(code, (run.errors.get(code) ?? 0) + 1);
  return code;
}

/**
 * One append through the client, timed; returns the result, or the error's code after counting
 * it. An error other than `sequence_conflict` leaves the batch unsettled (checked afterwards).
 */
export async function timedAppend(
  run: LoadRun,
  client: AgateClient,
  sessionId: string,
  batch: readonly NewEvent[],
  expectedSequence?: number,
): Promise<AppendResult | string> {
  const started = performance.now();
  try {
    const result = await client.append(sessionId, batch, { expectedSequence });
    run.latencies.push(performance.now() - started);
    recordAck(run, sessionId, result);
    return result;
  } catch (error) {
    run.latencies.push(performance.now() - started);
    const code = countError(run, error);
    if (code !== 'sequence_conflict') {
      run.unsettled.push({ sessionId, eventIds: batch.map((e) => e.eventId ?? '') });
    }
    return code;
  }
}

/** Runs `writers` loops until `durationMs` has passed; each loop's body is one step. */
export async function runFor(
  run: LoadRun,
  writers: number,
  durationMs: number,
  step: (writer: number) => Promise<void>,
): Promise<void> {
  const started = performance.now();
  const deadline = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (Date.now() < deadline) await step(w);
    }),
  );
  run.durationMs = performance.now() - started;
}

/** The nearest-rank percentile of the latencies, in whole milliseconds (0 when there are none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return Math.round(sorted[rank - 1] ?? 0);
}

/** Maps with at most `limit` calls in flight, keeping the order of `items`. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next;
        next += 1;
        results[i] = await work(items[i] as T);
      }
    }),
  );
  return results;
}
