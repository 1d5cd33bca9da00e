import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import {
  compareFeedPositions,
  formatFeedPosition,
  selectFeedLinks,
  selectSessionChainRoots,
} from '../events/index.js';
import type { FeedEvent } from '../events/index.js';
import { sessionRootHash } from '../hashing/index.js';
import { checkContinuity, unknownSessions } from './check-continuity.js';
import type { ContinuityCheck, SessionLink } from './check-continuity.js';
import { slotOf } from './membership.js';
import type { Membership } from './membership.js';

/** Sessions remembered per process; one forgotten is looked up again, which is only slower. */
const maxSessions = 100_000;

export type ContinuityTracker = {
  /** Checks a batch: unknown sessions' predecessors are read once (one query), then `checkContinuity`. */
  check(pool: Pool, membership: Membership, events: readonly FeedEvent[]): Promise<ContinuityCheck>;
  /** Keeps a check's links once its batch is checkpointed. */
  accept(links: Map<string, SessionLink>): void;
  /** Forgets the sessions of slots another member may have handled since (a new epoch). */
  forgetSlots(slots: readonly number[], slotCount: number): void;
};

function gap(sessionId: string, expected: unknown, received: unknown, what: string): AgateError {
  return new AgateError(
    'feed_gap',
    `The first event this consumer received of session ${sessionId} follows ${what}: an event was skipped. Nothing past it was checkpointed; report this with the details.`,
    { details: { sessionId, expected, received } },
  );
}

/**
 * For each session new to this process, its predecessor must exist and be at or before its
 * slot's checkpoint (handled before); for a chained consumer its hash (or the session's root
 * hash, for a first event) starts the session's link.
 */
async function predecessors(
  pool: Pool,
  membership: Membership,
  unknown: { sessionId: string; previousSequence: number }[],
  chained: boolean,
): Promise<Map<string, SessionLink>> {
  const out = new Map<string, SessionLink>();
  const later = unknown.filter((u) => u.previousSequence > 0);
  const first = unknown.filter((u) => u.previousSequence === 0);
  for (const u of first) out.set(u.sessionId, { sequence: 0, hash: '' });
  if (later.length === 0 && (!chained || first.length === 0)) return out;
  const { links, roots } = await withTenant(
    pool,
    { tenantId: membership.tenantId },
    async (tx) => ({
      links: await selectFeedLinks(
        tx,
        later.map((u) => ({ sessionId: u.sessionId, sequence: u.previousSequence })),
      ),
      roots: chained
        ? await selectSessionChainRoots(
            tx,
            first.map((u) => u.sessionId),
          )
        : [],
    }),
  );
  for (const root of roots)
    out.set(root.sessionId, { sequence: 0, hash: sessionRootHash(root).toString('hex') });
  const found = new Map(links.map((l) => [l.sessionId, l]));
  const checkpoints = new Map(membership.slots.map((s) => [s.slot, s.checkpoint]));
  for (const u of later) {
    const link = found.get(u.sessionId);
    if (link === undefined)
      throw gap(
        u.sessionId,
        u.previousSequence,
        null,
        `event ${u.previousSequence}, which is not in the log`,
      );
    const checkpoint = checkpoints.get(slotOf(u.sessionId, membership.slotCount));
    if (checkpoint === undefined || compareFeedPositions(link.position, checkpoint) > 0) {
      throw gap(
        u.sessionId,
        checkpoint === undefined ? null : formatFeedPosition(checkpoint),
        formatFeedPosition(link.position),
        `event ${u.previousSequence}, which is past the slot's checkpoint and was never delivered`,
      );
    }
    out.set(u.sessionId, { sequence: u.previousSequence, hash: link.hash });
  }
  return out;
}

export function createContinuityTracker(options: { chained: boolean }): ContinuityTracker {
  const seen = new Map<string, SessionLink>();
  const remember = (sessionId: string, link: SessionLink) => {
    seen.delete(sessionId);
    seen.set(sessionId, link);
  };
  const trim = () => {
    for (const key of seen.keys()) {
      if (seen.size <= maxSessions) return;
      seen.delete(key);
    }
  };
  return {
    async check(pool, membership, events) {
      const unknown = unknownSessions(seen, events);
      if (unknown.length > 0) {
        const found = await predecessors(pool, membership, unknown, options.chained);
        for (const [sessionId, link] of found) remember(sessionId, link);
        trim();
      }
      return checkContinuity(seen, events, options);
    },
    accept(links) {
      for (const [sessionId, link] of links) remember(sessionId, link);
      trim();
    },
    forgetSlots(slots, slotCount) {
      const gone = new Set(slots);
      for (const sessionId of [...seen.keys()]) {
        if (gone.has(slotOf(sessionId, slotCount))) seen.delete(sessionId);
      }
    },
  };
}
