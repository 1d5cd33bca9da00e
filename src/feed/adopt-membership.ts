import { compareFeedPositions } from '../events/index.js';
import type { FeedPosition } from '../events/index.js';
import type { Membership } from './membership.js';

/**
 * The membership a join returned, keeping the checkpoint the member committed itself when the
 * join read the row before that commit (same slot, same epoch, local one ahead).
 */
export function mergeMembership(previous: Membership | undefined, next: Membership): Membership {
  const mine = new Map(previous?.slots.map((s) => [s.slot, s]));
  return {
    ...next,
    slots: next.slots.map((s) => {
      const old = mine.get(s.slot);
      if (old === undefined || old.epoch !== s.epoch) return s;
      const ahead = compareFeedPositions(old.checkpoint, s.checkpoint) > 0;
      return ahead ? { ...s, checkpoint: old.checkpoint } : s;
    }),
  };
}

/** Slots that are new to the member or were someone else's in between (their epoch moved). */
export function claimedSlots(previous: Membership | undefined, next: Membership): number[] {
  const mine = new Map(previous?.slots.map((s) => [s.slot, s.epoch]));
  return next.slots.filter((s) => mine.get(s.slot) !== s.epoch).map((s) => s.slot);
}

/** The membership after a commit of `through` by `committed` (the slots and epochs it named). */
export function advanceMembership(
  current: Membership,
  committed: Membership,
  through: FeedPosition,
): Membership {
  const named = new Map(committed.slots.map((s) => [s.slot, s.epoch]));
  return {
    ...current,
    slots: current.slots.map((s) =>
      named.get(s.slot) === s.epoch && compareFeedPositions(through, s.checkpoint) > 0
        ? { ...s, checkpoint: through }
        : s,
    ),
  };
}
