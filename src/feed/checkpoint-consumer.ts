import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import type { FeedPosition } from '../events/index.js';
import { commitCheckpoint } from './commit-checkpoint.js';
import { checkRef, requireConsumer } from './consumer-admin-input.js';
import type { ConsumerRef } from './consumer-admin-input.js';
import { checkLease, checkMember } from './membership.js';

export type CheckpointConsumerInput = ConsumerRef & {
  member: string;
  /** The slots a receive covered, each with the epoch it was read under. */
  slots: readonly { slot: number; epoch: number }[];
  /** The receive's `through`: every event of these slots up to it is handled. */
  position: FeedPosition;
  /** Renews the slots' lease by this much (default 30 s). */
  leaseMs?: number;
};

/**
 * `commitCheckpoint` for a member outside this process (an HTTP client): finds the consumer by
 * name and writes the fenced checkpoint in one short tenant transaction. `lease_lost` when any
 * slot is no longer the member's under that epoch, and then nothing is written.
 */
export async function checkpointConsumer(
  pool: Pool,
  input: CheckpointConsumerInput,
): Promise<void> {
  const { tenantId, name } = checkRef(input);
  const member = checkMember(input.member);
  const leaseMs = input.leaseMs === undefined ? undefined : checkLease(input.leaseMs);
  await withTenant(pool, { tenantId, role: input.role }, async (tx) => {
    const consumer = await requireConsumer(tx, name);
    await commitCheckpoint(tx, {
      tenantId,
      consumerId: consumer.id,
      member,
      slots: input.slots,
      position: input.position,
      leaseMs,
    });
  });
}
