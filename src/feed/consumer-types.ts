import type { PoolClient } from '../db/index.js';
import type { FeedEvent, FeedPosition } from '../events/index.js';

/** Where a new consumer (or a reset one) starts: before every event, after the events committed now, or after a position. */
export type ConsumerStart = 'beginning' | 'now' | { after: FeedPosition };

/**
 * What a consumer does with a batch of delivered events (in feed order; one session's events
 * in sequence order, and one session is in one member at a time).
 * - `transactional`: `handle` runs in the transaction that then writes the checkpoint, as
 *   agate_app in the tenant's context, so its writes to PostgreSQL happen exactly once; a member
 *   that lost its lease has the whole transaction rolled back.
 * - `at-least-once`: `handle` runs outside any transaction; after a crash the batch may be
 *   delivered again, and each event's `position` is the key to deduplicate on.
 */
export type FeedHandler =
  | {
      mode: 'transactional';
      handle: (tx: PoolClient, events: readonly FeedEvent[]) => Promise<void>;
    }
  | { mode: 'at-least-once'; handle: (events: readonly FeedEvent[]) => Promise<void> };

/** A named, durable consumer of one tenant's feed. */
export type ConsumerDefinition = FeedHandler & {
  /** `[a-z0-9][a-z0-9._-]{0,62}`; names under `agate.` are agate's own. */
  name: string;
  /** Only these event types (null: every type). */
  types: readonly string[] | null;
  /** How many slots the consumer's sessions are split into, so up to that many members share it (default 16). */
  slots?: number;
  /** Where it starts when it does not exist yet (default 'beginning'). */
  start?: ConsumerStart;
};

/** A consumer as stored. */
export type ConsumerInfo = {
  id: string;
  tenantId: string;
  name: string;
  types: readonly string[] | null;
  slots: number;
  createdAt: Date;
  updatedAt: Date;
};

/** One slot of a consumer: its checkpoint (a formatted feed position) and its lease. */
export type SlotStatus = {
  slot: number;
  checkpoint: string;
  owner: string | null;
  epoch: number;
  leaseExpiresAt: Date | null;
};

/** A consumer with its slots and live members. Lag is not computed (it costs a feed scan). */
export type ConsumerStatus = ConsumerInfo & {
  slotStates: SlotStatus[];
  members: { member: string; joinedAt: Date; expiresAt: Date }[];
};
