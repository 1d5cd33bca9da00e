import { chainLink, eventContentHash, sessionRootHash } from '../../src/hashing/index.js';
import type { Session, StoredEvent } from '../../src/events/index.js';

/** Recomputes a session's hash chain; returns the first sequence whose link is wrong, or null. */
export function firstBrokenLink(session: Session, events: readonly StoredEvent[]): number | null {
  let previous = sessionRootHash({
    sessionId: session.id,
    tenantId: session.tenantId,
    seed: session.seed,
    rules: session.rules,
    rulesVersion: session.rulesVersion,
  });
  for (const [i, event] of events.entries()) {
    if (event.sequence !== i + 1) return i + 1;
    const link = chainLink(previous, event.sequence, eventContentHash(event));
    if (link.toString('hex') !== event.hash) return event.sequence;
    previous = link;
  }
  return previous.toString('hex') === session.headHash ? null : session.lastSequence;
}
