import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { compareFeedPositions, maxFeedPage, selectFeedPage } from '../events/index.js';
import type { FeedEvent, FeedPage, FeedPosition } from '../events/index.js';
import { slotOf } from './membership.js';
import type { Membership } from './membership.js';

/** Pages read in one receive when every event of a page was already handled by its slot. */
const maxSkippedPages = 20;

function earliest(positions: readonly FeedPosition[]): FeedPosition {
  return positions.reduce((a, b) => (compareFeedPositions(b, a) < 0 ? b : a));
}

export type ReceivedEvents = FeedPage & {
  /**
   * The feed position through which the member's slots were read (null: nothing was read): every
   * slot's events up to it are in `events` or were at or before its checkpoint, so this is the
   * position to checkpoint once `events` are handled (even when `events` is empty, which moves
   * a lagging slot on).
   */
  through: FeedPosition | null;
};

/**
 * The next events of the member's slots, from the earliest of their checkpoints; events at or
 * before their own slot's checkpoint are dropped (handled already). Reads only: the fencing is
 * the checkpoint's. A member without slots receives nothing.
 */
export async function receiveEvents(
  pool: Pool,
  membership: Membership,
  options: { limit?: number } = {},
): Promise<ReceivedEvents> {
  const limit = options.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxFeedPage) {
    throw new AgateError('invalid_request', `limit must be an integer from 1 to ${maxFeedPage}.`);
  }
  if (membership.slots.length === 0) return { events: [], held: false, through: null };
  const checkpoints = new Map(membership.slots.map((s) => [s.slot, s.checkpoint]));
  const owned = [...checkpoints.keys()].sort((a, b) => a - b);
  const slots =
    owned.length === membership.slotCount ? null : { count: membership.slotCount, owned };
  const keep = (e: FeedEvent) => {
    const checkpoint = checkpoints.get(slotOf(e.sessionId, membership.slotCount));
    return checkpoint !== undefined && compareFeedPositions(e.position, checkpoint) > 0;
  };
  return withTenant(pool, { tenantId: membership.tenantId }, async (tx) => {
    let after = earliest([...checkpoints.values()]);
    for (let page = 0; ; page += 1) {
      const read = await selectFeedPage(tx, {
        after,
        limit,
        types: membership.types,
        sessionId: null,
        slots,
      });
      const events = read.events.filter(keep);
      const last = read.events.at(-1);
      if (last === undefined) return { events, held: read.held, through: null };
      if (events.length > 0 || read.events.length < limit || page + 1 >= maxSkippedPages) {
        return { events, held: read.held, through: last.position };
      }
      after = last.position;
    }
  });
}
