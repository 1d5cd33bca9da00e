import { requireTenantId, withTenant } from '../db/index.js';
import type { Pool, PoolClient, TenantRole } from '../db/index.js';
import { formatFeedPosition } from '../events/index.js';
import { checkRef, notFound } from './consumer-admin-input.js';
import type { ConsumerStatus } from './consumer-types.js';
import {
  selectConsumer,
  selectConsumers,
  selectMembers,
  selectSlots,
} from './consumers.queries.js';
import type { ConsumerRow } from './consumers.queries.js';

async function withStatus(tx: PoolClient, rows: ConsumerRow[]): Promise<ConsumerStatus[]> {
  const ids = rows.map((r) => r.id);
  const slots = await selectSlots(tx, ids);
  const members = await selectMembers(tx, ids);
  return rows.map((row) => ({
    ...row,
    slotStates: (slots.get(row.id) ?? []).map((s) => ({
      slot: s.slot,
      checkpoint: formatFeedPosition(s.checkpoint),
      owner: s.owner,
      epoch: s.epoch,
      leaseExpiresAt: s.leaseExpiresAt,
    })),
    members: members.get(row.id) ?? [],
  }));
}

/** Every consumer of the tenant (agate's own included) with its slots and live members. */
export function listConsumers(
  pool: Pool,
  input: { tenantId: string; role?: TenantRole },
): Promise<ConsumerStatus[]> {
  const tenantId = requireTenantId(input.tenantId);
  return withTenant(pool, { tenantId, role: input.role }, async (tx) =>
    withStatus(tx, await selectConsumers(tx)),
  );
}

/** One consumer with its slots and live members; `consumer_not_found` when there is none. */
export function getConsumer(
  pool: Pool,
  input: { tenantId: string; name: string; role?: TenantRole },
): Promise<ConsumerStatus> {
  const { tenantId, name } = checkRef({ ...input, reserved: true });
  return withTenant(pool, { tenantId, role: input.role }, async (tx) => {
    const row = await selectConsumer(tx, name);
    if (row === undefined) throw notFound(name);
    const [status] = await withStatus(tx, [row]);
    if (status === undefined) throw notFound(name);
    return status;
  });
}
