import { AgateError } from '../errors/index.js';
import type { FeedEvent } from '../events/index.js';
import { chainLink, eventContentHash } from '../hashing/index.js';

/** The last event of a session a consumer has seen: its sequence and chain hash (hex; '' unknown). */
export type SessionLink = { sequence: number; hash: string };

export type ContinuityCheck = {
  /** The events not delivered before, in their order. */
  fresh: FeedEvent[];
  /** The sessions these events moved on, with their new last link (`seen` is left as it was). */
  links: Map<string, SessionLink>;
};

function gap(
  event: FeedEvent,
  expected: number | string,
  received: number | string,
  what: string,
): AgateError {
  return new AgateError(
    'feed_gap',
    `The feed delivered event ${event.sequence} of session ${event.sessionId} (position ${event.position.transactionId}:${event.position.sessionId}:${event.position.sequence}) ${what}: an event was skipped or the log changed. Nothing past it was checkpointed; report this with the details, and reset the consumer once the cause is known.`,
    { details: { sessionId: event.sessionId, sequence: event.sequence, expected, received } },
  );
}

/**
 * The sessions among `events` that `seen` does not know, each with the link its first event
 * names (`previousSequence`): the caller looks those predecessors up and adds them to `seen`
 * before `checkContinuity` (sequence 0 with the session's root hash for a first event).
 */
export function unknownSessions(
  seen: ReadonlyMap<string, SessionLink>,
  events: readonly FeedEvent[],
): { sessionId: string; previousSequence: number }[] {
  const out = new Map<string, number>();
  for (const e of events) {
    if (!seen.has(e.sessionId) && !out.has(e.sessionId)) out.set(e.sessionId, e.previousSequence);
  }
  return [...out].map(([sessionId, previousSequence]) => ({ sessionId, previousSequence }));
}

/**
 * Checks that every event continues its session from the last one seen: its `previousSequence`
 * is the last seen sequence and, when `chained` (a consumer of every type, which sees every
 * link), its hash is `sha256(last hash || sequence || content hash)`. An event at or before the
 * last seen sequence is a redelivery and is left out of `fresh` (the same sequence with another
 * hash is a fork, not a redelivery). Any other break is a `feed_gap` with {sessionId, expected,
 * received}. Pure: `seen` must know every session of `events` (see `unknownSessions`).
 */
export function checkContinuity(
  seen: ReadonlyMap<string, SessionLink>,
  events: readonly FeedEvent[],
  options: { chained: boolean },
): ContinuityCheck {
  const next = new Map<string, SessionLink>();
  const fresh: FeedEvent[] = [];
  for (const event of events) {
    const last = next.get(event.sessionId) ?? seen.get(event.sessionId);
    if (last === undefined)
      throw gap(event, 'a known predecessor', event.previousSequence, 'with no known predecessor');
    if (event.sequence <= last.sequence) {
      if (event.sequence === last.sequence && last.hash !== '' && last.hash !== event.hash) {
        throw gap(
          event,
          last.hash,
          event.hash,
          'with another hash than when it was first delivered',
        );
      }
      continue;
    }
    if (event.previousSequence !== last.sequence) {
      throw gap(
        event,
        last.sequence,
        event.previousSequence,
        `after ${event.previousSequence}, but the last one seen was ${last.sequence}`,
      );
    }
    if (options.chained) {
      const link =
        last.hash === ''
          ? undefined
          : chainLink(
              Buffer.from(last.hash, 'hex'),
              event.sequence,
              eventContentHash(event),
            ).toString('hex');
      if (link !== event.hash) {
        throw gap(
          event,
          link ?? 'a known previous hash',
          event.hash,
          'whose hash does not continue the chain',
        );
      }
    }
    next.set(event.sessionId, { sequence: event.sequence, hash: event.hash });
    fresh.push(event);
  }
  return { fresh, links: next };
}
