import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { checkRef, requireConsumer } from './consumer-admin-input.js';
import type { ConsumerRef } from './consumer-admin-input.js';
import { releaseMember } from './consumers.queries.js';
import { checkMember } from './membership.js';

/** Leaves the group: frees the member's slots at once (others claim them on their next join). */
export async function leaveConsumer(
  pool: Pool,
  input: ConsumerRef & { member: string },
): Promise<void> {
  const { tenantId, name } = checkRef(input);
  const member = checkMember(input.member);
  await withTenant(pool, { tenantId }, async (tx) => {
    const consumer = await requireConsumer(tx, name);
    await releaseMember(tx, { consumerId: consumer.id, member });
  });
}
