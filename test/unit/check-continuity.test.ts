import { describe, expect, it } from 'vitest';
import { isAgateError } from '../../src/errors/index.js';
import type { FeedEvent } from '../../src/events/index.js';
import { checkContinuity, unknownSessions } from '../../src/feed/index.js';
import type { SessionLink } from '../../src/feed/index.js';
import { chainLink, eventContentHash, sessionRootHash } from '../../src/hashing/index.js';

const sessionId = '01900000-0000-7000-8000-000000000001';
const other = '01900000-0000-7000-8000-000000000002';
const root = (id: string) =>
  sessionRootHash({ sessionId: id, tenantId: id, seed: 's', rules: 'tiny', rulesVersion: 1 });

/** A session's events 1..count with their real chain, as the feed delivers them unfiltered. */
function chain(id: string, count: number, types: (i: number) => string = () => 'a'): FeedEvent[] {
  let previous = root(id);
  return Array.from({ length: count }, (_, i) => {
    const sequence = i + 1;
    const content = {
      eventId: `${id.slice(0, 30)}${String(sequence).padStart(6, '0')}`,
      type: types(sequence),
      version: 1,
      data: { n: sequence },
    };
    previous = chainLink(previous, sequence, eventContentHash(content));
    return {
      position: { transactionId: String(100 + sequence), sessionId: id, sequence },
      tenantId: id,
      sessionId: id,
      sequence,
      previousSequence: sequence - 1,
      eventId: content.eventId,
      type: content.type,
      version: 1,
      data: content.data,
      clientTime: null,
      serverTime: new Date(0),
      hash: previous.toString('hex'),
    };
  });
}

const start = (id: string): Map<string, SessionLink> =>
  new Map([[id, { sequence: 0, hash: root(id).toString('hex') }]]);

function gapOf(run: () => unknown): Record<string, unknown> {
  try {
    run();
  } catch (error) {
    if (isAgateError(error, 'feed_gap')) return { ...error.details };
    throw error;
  }
  throw new Error('no feed_gap was raised');
}

describe('checkContinuity', () => {
  it('passes a whole chain and returns each session’s last link', () => {
    const events = chain(sessionId, 5);
    const r = checkContinuity(start(sessionId), events, { chained: true });
    expect(r.fresh.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(r.links.get(sessionId)).toEqual({ sequence: 5, hash: events[4]?.hash });
  });

  it('raises a feed_gap naming the session, the expected and the received link when an event is missing', () => {
    const events = chain(sessionId, 5).filter((e) => e.sequence !== 3);
    expect(gapOf(() => checkContinuity(start(sessionId), events, { chained: true }))).toMatchObject(
      {
        sessionId,
        sequence: 4,
        expected: 2,
        received: 3,
      },
    );
  });

  it('raises a feed_gap when a hash does not continue the chain, though the sequences do', () => {
    const events = chain(sessionId, 3);
    const forged = events.map((e) => (e.sequence === 2 ? { ...e, data: { n: 99 } } : e));
    expect(gapOf(() => checkContinuity(start(sessionId), forged, { chained: true }))).toMatchObject(
      {
        sessionId,
        sequence: 2,
        received: events[1]?.hash,
      },
    );
  });

  it('checks a filtered feed by its previous sequences, which skip the filtered-out events', () => {
    const all = chain(sessionId, 6, (i) => (i % 2 === 0 ? 'kept' : 'other'));
    let previous = 0;
    const kept = all
      .filter((e) => e.type === 'kept')
      .map((e) => {
        const out = { ...e, previousSequence: previous };
        previous = e.sequence;
        return out;
      });
    const seen = new Map([[sessionId, { sequence: 0, hash: '' }]]);
    expect(checkContinuity(seen, kept, { chained: false }).fresh.map((e) => e.sequence)).toEqual([
      2, 4, 6,
    ]);
    const holed = kept.filter((e) => e.sequence !== 4);
    expect(gapOf(() => checkContinuity(seen, holed, { chained: false }))).toMatchObject({
      expected: 2,
      received: 4,
    });
  });

  it('leaves out redelivered events and goes on after them, but calls a redelivery with another hash a gap', () => {
    const events = chain(sessionId, 4);
    const first = checkContinuity(start(sessionId), events.slice(0, 3), { chained: true });
    const seen = new Map([...start(sessionId), ...first.links]);
    const again = checkContinuity(seen, events, { chained: true });
    expect(again.fresh.map((e) => e.sequence)).toEqual([4]);
    const forked = events.map((e) => (e.sequence === 3 ? { ...e, hash: '00'.repeat(32) } : e));
    expect(gapOf(() => checkContinuity(seen, forked, { chained: true }))).toMatchObject({
      sessionId,
      sequence: 3,
    });
  });

  it('keeps sessions apart and refuses a session it was not told about', () => {
    const mixed = [...chain(sessionId, 2), ...chain(other, 2)];
    const seen = new Map([...start(sessionId), ...start(other)]);
    expect(checkContinuity(seen, mixed, { chained: true }).fresh).toHaveLength(4);
    expect(unknownSessions(start(sessionId), mixed)).toEqual([
      { sessionId: other, previousSequence: 0 },
    ]);
    expect(gapOf(() => checkContinuity(start(sessionId), mixed, { chained: true }))).toMatchObject({
      sessionId: other,
    });
  });

  it('leaves the map it was given untouched', () => {
    const seen = start(sessionId);
    checkContinuity(seen, chain(sessionId, 3), { chained: true });
    expect(seen.get(sessionId)?.sequence).toBe(0);
  });
});
