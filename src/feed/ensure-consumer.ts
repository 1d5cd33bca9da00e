import { uuidv7 } from 'uuidv7';
import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { checkFeedTypes } from '../events/index.js';
import { checkRef, startPosition } from './consumer-admin-input.js';
import type { ConsumerRef } from './consumer-admin-input.js';
import type { ConsumerInfo, ConsumerStart } from './consumer-types.js';
import { insertConsumer } from './consumers.queries.js';

export type EnsureConsumerInput = ConsumerRef & {
  /** Only these event types (null: every type). */
  types: readonly string[] | null;
  /** 1 to 256 (default 16). */
  slots?: number;
  /** Where a consumer created now starts (default 'beginning'); ignored when it exists. */
  start?: ConsumerStart;
};

export const defaultSlots = 16;
/** The types as stored: sorted, without duplicates; `invalid_request` when not 1 to 50 names. */
export function normaliseTypes(types: readonly string[] | null): string[] | null {
  return checkFeedTypes(types, "A consumer's types");
}

function sameTypes(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/**
 * Creates the consumer with its slots at `start`, or returns the one of that name when it has
 * the same types and slots; another definition under the name is `consumer_conflict`.
 * Idempotent and safe to race: the name is unique per tenant. `created` is true only for the
 * call that inserted it.
 */
export async function ensureConsumer(
  pool: Pool,
  input: EnsureConsumerInput,
): Promise<ConsumerInfo & { created: boolean }> {
  const { tenantId, name } = checkRef(input);
  const types = normaliseTypes(input.types);
  const slots = input.slots ?? defaultSlots;
  if (!Number.isSafeInteger(slots) || slots < 1 || slots > 256) {
    throw new AgateError(
      'invalid_request',
      `slots must be an integer from 1 to 256, not ${slots}.`,
    );
  }
  const id = uuidv7();
  const row = await withTenant(pool, { tenantId, role: input.role }, async (tx) => {
    const checkpoint = await startPosition(tx, input.start ?? 'beginning');
    return insertConsumer(tx, { id, tenantId, name, types, slots, checkpoint });
  });
  if (!sameTypes(row.types, types) || row.slots !== slots) {
    throw new AgateError(
      'consumer_conflict',
      `The consumer ${JSON.stringify(name)} exists with types ${JSON.stringify(row.types)} and ${row.slots} slots, not ${JSON.stringify(types)} and ${slots}: use another name, or delete it first.`,
      { details: { name, types: row.types, slots: row.slots } },
    );
  }
  return { ...row, created: row.id === id };
}
