import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import type { FeedPosition } from '../events/index.js';
import { commitCheckpoint } from './commit-checkpoint.js';
import { checkRef, requireConsumer } from './consumer-admin-input.js';
import type { ConsumerRef } from './consumer-admin-input.js';
import { checkLease, checkMember } from './membership.js';

export type CheckpointConsumerInput = ConsumerRef & {
  member: string;
  /** The slots of the handled batch with the epochs the member's join returned. */
  slots: readonly { slot: number; epoch: number }[];
  /** The `through` position of the handled batch. */
  position: FeedPosition;
  leaseMs?: number;
};

/**
 * `commitCheckpoint` in a tenant transaction of its own, for a member whose handler wrote
 * nothing to PostgreSQL (at-least-once; the HTTP API's checkpoint): fenced the same way, so a
 * member that lost a slot gets `lease_lost` and checkpoints nothing.
 */
export async function checkpointConsumer(
  pool: Pool,
  input: CheckpointConsumerInput,
): Promise<void> {
  const { tenantId, name } = checkRef(input);
  const member = checkMember(input.member);
  const leaseMs = checkLease(input.leaseMs ?? 30_000);
  const slots = input.slots;
  const ok =
    slots.length >= 1 &&
    slots.length <= 256 &&
    slots.every(
      (s) =>
        Number.isSafeInteger(s.slot) &&
        s.slot >= 0 &&
        Number.isSafeInteger(s.epoch) &&
        s.epoch >= 0,
    );
  if (!ok) {
    throw new AgateError(
      'invalid_request',
      'slots must list 1 to 256 slots, each with the epoch the join returned for it.',
    );
  }
  await withTenant(pool, { tenantId, role: input.role }, async (tx) => {
    const consumer = await requireConsumer(tx, name);
    await commitCheckpoint(tx, {
      tenantId,
      consumerId: consumer.id,
      member,
      slots,
      position: input.position,
      leaseMs,
    });
  });
}
