import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { checkRef, requireConsumer, startPosition } from './consumer-admin-input.js';
import type { ConsumerRef } from './consumer-admin-input.js';
import type { ConsumerStart } from './consumer-types.js';
import { resetSlots } from './consumers.queries.js';

/**
 * Moves every slot's checkpoint to `to` (back or forward) and fences the current owners: each
 * slot's epoch goes up and its owner is cleared, so a member still working on the old position
 * can checkpoint nothing (`lease_lost`) and rejoins from the new one.
 */
export async function resetConsumer(
  pool: Pool,
  input: ConsumerRef & { to: ConsumerStart },
): Promise<void> {
  const { tenantId, name } = checkRef(input);
  await withTenant(pool, { tenantId }, async (tx) => {
    const checkpoint = await startPosition(tx, input.to);
    const row = await requireConsumer(tx, name, { lock: true });
    await resetSlots(tx, row.id, checkpoint);
  });
}
