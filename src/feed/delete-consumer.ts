import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { checkRef, notFound } from './consumer-admin-input.js';
import type { ConsumerRef } from './consumer-admin-input.js';
import { deleteConsumerRow } from './consumers.queries.js';

/** Deletes the consumer with its slots and members; `consumer_not_found` when there is none. */
export async function deleteConsumer(pool: Pool, input: ConsumerRef): Promise<void> {
  const { tenantId, name } = checkRef(input);
  const deleted = await withTenant(pool, { tenantId }, (tx) => deleteConsumerRow(tx, name));
  if (!deleted) throw notFound(name);
}
