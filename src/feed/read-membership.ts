import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { checkRef, requireConsumer } from './consumer-admin-input.js';
import type { ConsumerRef } from './consumer-admin-input.js';
import { selectHeldSlots } from './member-slots.queries.js';
import { checkMember } from './membership.js';
import type { Membership } from './membership.js';

/**
 * What a member holds now, as `joinConsumer` last left it: the slots it owns under a live lease,
 * each with its epoch and stored checkpoint. Reads only (no heartbeat, no rebalance), for a
 * receive by a member that is not in this process, such as an HTTP client between its calls.
 * A member that holds nothing (never joined, left, or its lease ran out) gets no slots;
 * `consumer_not_found` when the consumer does not exist.
 */
export async function readMembership(
  pool: Pool,
  input: ConsumerRef & { member: string },
): Promise<Omit<Membership, 'leaseMs'>> {
  const { tenantId, name } = checkRef(input);
  const member = checkMember(input.member);
  return withTenant(pool, { tenantId, role: input.role }, async (tx) => {
    const consumer = await requireConsumer(tx, name);
    const slots = await selectHeldSlots(tx, { consumerId: consumer.id, member });
    return {
      tenantId,
      consumerId: consumer.id,
      name,
      member,
      types: consumer.types,
      slotCount: consumer.slots,
      slots,
    };
  });
}
