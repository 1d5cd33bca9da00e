import { withTenant } from '../db/index.js';
import type { Pool, TenantRole } from '../db/index.js';
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
  membership: Omit<Membership, 'leaseMs'>,
  options: { limit?: number; role?: TenantRole } = {},
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
  return withTenant(pool, { tenantId: membership.tenantId, role: options.role }, async (tx) => {
    let after = earliest([...checkpoints.values()]);
    const pageAfter = async (from: FeedPosition) => {
      const input = { after: from, limit, types: membership.types, sessionId: null, slots };
      const read = await selectFeedPage(tx, input);
      // The page and its `held` check are two statements, two snapshots: an event whose
      // transaction fell under the horizon between them is in neither. Reading again after an
      // empty, unheld page finds it, so "nothing, nothing held" means caught up.
      if (read.events.length > 0 || read.held) return read;
      // Read through the first read's horizon already: only later events can be new.
      const again = await selectFeedPage(tx, { ...input, after: read.through ?? from });
      return again.through === null ? { ...again, through: read.through } : again;
    };
    for (let page = 0; ; page += 1) {
      const read = await pageAfter(after);
      const events = read.events.filter(keep);
      const { held, through } = read;
      if (through === null || compareFeedPositions(through, after) <= 0) {
        return { events, held, through: null };
      }
      if (events.length > 0 || read.events.length < limit || page + 1 >= maxSkippedPages) {
        return { events, held, through };
      }
      after = through;
    }
  });
}
