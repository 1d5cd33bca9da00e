import { describe, expect, it } from 'vitest';
import type { FeedEvent } from '../../src/events/index.js';
import { createDeliveryLedger } from '../../bench/support/delivery-ledger.js';
import { createLatencyRecorder, latencyProblems } from '../../bench/support/feed-latency.js';
import { eventKey } from '../../bench/support/feed-writers.js';

// The feed bench's figures are only worth what its checks catch: a reader that is fast because
// it skipped, repeated or invented events must fail them.

const a = '00000000-0000-7000-8000-00000000000a';
const b = '00000000-0000-7000-8000-00000000000b';

function deliver(expected: Map<string, number>, deliveries: [string, number][]): string[] {
  const ledger = createDeliveryLedger(expected);
  for (const [session, sequence] of deliveries) ledger.record(session, sequence);
  return ledger.problems('reader');
}

function event(sessionId: string, sequence: number): FeedEvent {
  return {
    position: { transactionId: '1', sessionId, sequence },
    tenantId: '00000000-0000-7000-8000-000000000001',
    sessionId,
    sequence,
    previousSequence: sequence - 1,
    eventId: '00000000-0000-7000-8000-000000000002',
    type: 'day.started',
    version: 1,
    data: {},
    clientTime: null,
    serverTime: new Date(0),
    hash: '00',
  };
}

describe('the delivery ledger of the catch-up rows', () => {
  const expected = new Map([
    [a, 3],
    [b, 2],
  ]);

  it('passes every stored event delivered once, sessions interleaved, each in order', () => {
    const problems = deliver(expected, [
      [a, 1],
      [b, 1],
      [a, 2],
      [b, 2],
      [a, 3],
    ]);
    expect(problems).toEqual([]);
  });

  it('names an event never delivered', () => {
    const problems = deliver(expected, [
      [a, 1],
      [a, 2],
      [a, 3],
      [b, 1],
    ]);
    expect(problems).toEqual(['reader: 1 stored event(s) never delivered']);
  });

  it('names a repeated delivery even when the count adds up', () => {
    // Five deliveries for five events, but b:2 is missing and a:2 came twice.
    const problems = deliver(expected, [
      [a, 1],
      [a, 2],
      [a, 2],
      [a, 3],
      [b, 1],
    ]);
    expect(problems).toContain('reader: 1 stored event(s) never delivered');
    expect(problems).toContain('reader: 1 event(s) delivered more than once');
  });

  it('names an event that was not stored and one delivered out of its session order', () => {
    const problems = deliver(expected, [
      [a, 1],
      [a, 3],
      [a, 2],
      [b, 1],
      [b, 2],
      [b, 3],
    ]);
    expect(problems).toContain('reader: 1 delivered event(s) that were not stored');
    expect(problems).toContain("reader: 2 event(s) out of their session's sequence order");
  });
});

describe('the latency recorder of the commit-to-consumer row', () => {
  it('measures from the ack to the delivery, and counts a delivery that beat its ack', async () => {
    const recorder = createLatencyRecorder();
    recorder.acked(eventKey(a, 1), performance.now() - 40);
    await recorder.handle([event(a, 1), event(b, 1)]);
    recorder.acked(eventKey(b, 1), performance.now() + 5);
    await recorder.allDelivered(1_000);
    const result = recorder.result();
    expect(result.acked).toBe(2);
    expect(result.delivered).toBe(2);
    expect(result.seenBeforeAck).toBe(1);
    expect(result.latenciesMs).toHaveLength(2);
    expect(Math.max(...result.latenciesMs)).toBeGreaterThanOrEqual(40);
    expect(Math.min(...result.latenciesMs)).toBeLessThan(0);
    expect(latencyProblems(result)).toEqual([]);
  });

  it('fails when an acknowledged event never arrives, and names duplicates and strangers', async () => {
    const recorder = createLatencyRecorder();
    recorder.acked(eventKey(a, 1), performance.now());
    recorder.acked(eventKey(a, 2), performance.now());
    await recorder.handle([event(a, 1), event(a, 1), event(b, 7)]);
    await expect(recorder.allDelivered(20)).rejects.toThrow(/not every acknowledged event/);
    expect(latencyProblems(recorder.result())).toEqual([
      'commit-to-consumer: 1 acknowledged event(s) never delivered',
      'commit-to-consumer: 1 event(s) delivered twice',
      'commit-to-consumer: 1 delivered event(s) no writer acknowledged',
    ]);
  });

  it('resolves the wait as soon as the last acknowledged event is delivered', async () => {
    const recorder = createLatencyRecorder();
    recorder.acked(eventKey(a, 1), performance.now());
    const waiting = recorder.allDelivered(5_000);
    await recorder.handle([event(a, 1)]);
    await expect(waiting).resolves.toBeUndefined();
  });
});
