import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { checkRef, requireConsumer } from './consumer-admin-input.js';
import type { ConsumerRef } from './consumer-admin-input.js';
import { balanceSlots, touchMember } from './consumers.queries.js';
import { checkLease, checkMember } from './membership.js';
import type { Membership } from './membership.js';

export type JoinInput = ConsumerRef & { member: string; leaseMs: number };

/**
 * Joins the consumer's group, or renews the membership (call it as the heartbeat, well within
 * `leaseMs`): the member's lease is renewed, it gives up slots above its fair share
 * (`ceil(slots / live members)`) and claims free or expired ones up to it, each claim bumping the
 * slot's epoch so the previous owner is fenced. One short tenant transaction that waits on no
 * lock. A slot whose epoch changed since the last join was someone else's in between: its
 * checkpoint is the one to resume from.
 */
export async function joinConsumer(pool: Pool, input: JoinInput): Promise<Membership> {
  const { tenantId, name } = checkRef(input);
  const member = checkMember(input.member);
  const leaseMs = checkLease(input.leaseMs);
  return withTenant(pool, { tenantId }, async (tx) => {
    const consumer = await requireConsumer(tx, name);
    const live = await touchMember(tx, { consumerId: consumer.id, tenantId, member, leaseMs });
    const fair = Math.ceil(consumer.slots / Math.max(live, 1));
    const held = await balanceSlots(tx, { consumerId: consumer.id, member, leaseMs, fair });
    return {
      tenantId,
      consumerId: consumer.id,
      name,
      member,
      types: consumer.types,
      slotCount: consumer.slots,
      slots: held.map((s) => ({ slot: s.slot, epoch: s.epoch, checkpoint: s.checkpoint })),
      leaseMs,
    };
  });
}
