import { AgateError } from '../errors/index.js';

/**
 * Where an event stands in its tenant's feed: its writing transaction's id (xid8, decimal), then
 * its session and sequence. The feed delivers events in this order (ADR 0021); within a
 * transaction it is each session's sequence order. Unique per event, so it is also the key a
 * consumer deduplicates on.
 */
export type FeedPosition = { transactionId: string; sessionId: string; sequence: number };

const nilSession = '00000000-0000-0000-0000-000000000000';

/** Before every event: a consumer that starts here receives the whole feed. */
export const feedStart: FeedPosition = { transactionId: '0', sessionId: nilSession, sequence: 0 };

const pattern =
  /^(0|[1-9][0-9]{0,19}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(0|[1-9][0-9]{0,15})$/;
const maxTransaction = 18446744073709551615n;

/** `transaction:session:sequence`, as delivered in `position` and accepted by `after`. */
export function formatFeedPosition(position: FeedPosition): string {
  return `${position.transactionId}:${position.sessionId}:${position.sequence}`;
}

/** Reads a position a client sent back; `invalid_request` naming `name` when it is not one. */
export function parseFeedPosition(text: string, name = 'after'): FeedPosition {
  const match = pattern.exec(text.toLowerCase());
  const sequence = Number(match?.[3]);
  if (
    match === null ||
    BigInt(match[1] ?? '0') > maxTransaction ||
    !Number.isSafeInteger(sequence)
  ) {
    throw new AgateError(
      'invalid_request',
      `${name} must be a feed position as the feed delivers it (transaction:session:sequence, ` +
        `for example 0:${nilSession}:0 for the start), not ${JSON.stringify(text.slice(0, 120))}.`,
    );
  }
  return { transactionId: match[1] ?? '0', sessionId: match[2] ?? nilSession, sequence };
}

/** Negative, zero or positive as `a` comes before, at or after `b` in the feed. */
export function compareFeedPositions(a: FeedPosition, b: FeedPosition): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.sessionId !== b.sessionId) return a.sessionId < b.sessionId ? -1 : 1;
  return a.sequence - b.sequence;
}
