import { requireTenantId } from '../db/index.js';
import type { PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import type { FeedPosition } from '../events/index.js';
import { checkConsumerName } from './consumer-name.js';
import type { ConsumerStart } from './consumer-types.js';
import { selectConsumer, selectFeedHorizon } from './consumers.queries.js';
import type { ConsumerRow } from './consumers.queries.js';

/** Who names a consumer: its tenant, its name, and whether agate's own names are allowed. */
export type ConsumerRef = {
  tenantId: string;
  name: string;
  /** True only for agate's own runtime: lets the caller use names under `agate.` (default false). */
  reserved?: boolean;
};

export function checkRef(ref: ConsumerRef): { tenantId: string; name: string } {
  return {
    tenantId: requireTenantId(ref.tenantId),
    name: checkConsumerName(ref.name, ref.reserved ?? false),
  };
}

export function notFound(name: string): AgateError {
  return new AgateError(
    'consumer_not_found',
    `No consumer named ${JSON.stringify(name)} in this tenant: create it first (ensureConsumer, or start it).`,
  );
}

export async function requireConsumer(
  tx: PoolClient,
  name: string,
  options: { lock?: boolean } = {},
): Promise<ConsumerRow> {
  const row = await selectConsumer(tx, name, options);
  if (row === undefined) throw notFound(name);
  return row;
}

/** The checkpoint a start means, read in the caller's transaction (its first statement for 'now'). */
export async function startPosition(tx: PoolClient, start: ConsumerStart): Promise<FeedPosition> {
  if (start === 'beginning') {
    return { transactionId: '0', sessionId: '00000000-0000-0000-0000-000000000000', sequence: 0 };
  }
  if (start === 'now') return selectFeedHorizon(tx);
  return start.after;
}
