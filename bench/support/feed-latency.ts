// Commit-to-consumer latency: a caught-up consumer's handler stamps each event it sees, each
// writer stamps each event when its append returned, both on this process's clock.
import type { FeedEvent } from '../../src/events/index.js';
import { percentile } from './report.js';
import { eventKey } from './feed-writers.js';

/** A running consumer as the bench needs it: stopped at the end, awaited until caught up. */
export type LiveConsumer = { stop(): Promise<void>; idle(): Promise<void> };

export type LatencyRecorder = {
  /** The writers' `onAck`. */
  acked(key: string, at: number): void;
  /** The consumer's at-least-once handler. */
  handle(events: readonly FeedEvent[]): Promise<void>;
  /** Resolves once every acknowledged event was delivered, or rejects after `timeoutMs`. */
  allDelivered(timeoutMs: number): Promise<void>;
  result(): LatencyResult;
};

export type LatencyResult = {
  acked: number;
  delivered: number;
  /** Delivered before the writer's append had returned (the wake ran inside the append call). */
  seenBeforeAck: number;
  duplicates: number;
  /** Acknowledged but never delivered. */
  missing: number;
  /** Delivered but never acknowledged by a writer. */
  unacked: number;
  latenciesMs: number[];
  p50Ms: number;
  p99Ms: number;
};

export function createLatencyRecorder(): LatencyRecorder {
  const ackAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const latenciesMs: number[] = [];
  let seenBeforeAck = 0;
  let duplicates = 0;
  let delivered = 0;
  /** Keys both acknowledged and delivered. */
  let matched = 0;
  let waiting: (() => void) | null = null;
  const done = () => matched === ackAt.size;
  return {
    acked(key, at) {
      ackAt.set(key, at);
      const seen = seenAt.get(key);
      if (seen !== undefined) {
        matched += 1;
        seenBeforeAck += 1;
        latenciesMs.push(seen - at);
      }
    },
    handle(events) {
      const now = performance.now();
      for (const event of events) {
        const key = eventKey(event.sessionId, event.sequence);
        if (seenAt.has(key)) {
          duplicates += 1;
          continue;
        }
        delivered += 1;
        seenAt.set(key, now);
        const ack = ackAt.get(key);
        if (ack !== undefined) {
          matched += 1;
          latenciesMs.push(now - ack);
        }
      }
      if (waiting !== null && done()) waiting();
      return Promise.resolve();
    },
    allDelivered(timeoutMs) {
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = null;
          reject(new Error(`not every acknowledged event was delivered within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting = () => {
          clearTimeout(timer);
          waiting = null;
          resolve();
        };
      });
    },
    result() {
      let missing = 0;
      for (const key of ackAt.keys()) if (!seenAt.has(key)) missing += 1;
      let unacked = 0;
      for (const key of seenAt.keys()) if (!ackAt.has(key)) unacked += 1;
      return {
        acked: ackAt.size,
        delivered,
        seenBeforeAck,
        duplicates,
        missing,
        unacked,
        latenciesMs,
        p50Ms: percentile(latenciesMs, 50),
        p99Ms: percentile(latenciesMs, 99),
      };
    },
  };
}

export function latencyProblems(r: LatencyResult): string[] {
  const found: string[] = [];
  if (r.missing > 0)
    found.push(`commit-to-consumer: ${r.missing} acknowledged event(s) never delivered`);
  if (r.duplicates > 0) found.push(`commit-to-consumer: ${r.duplicates} event(s) delivered twice`);
  if (r.unacked > 0)
    found.push(`commit-to-consumer: ${r.unacked} delivered event(s) no writer acknowledged`);
  if (r.acked === 0) found.push('commit-to-consumer: no event was acknowledged');
  return found;
}
