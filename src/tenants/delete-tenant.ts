// Deleting a tenant (issue 19, offboarding): the operator's `agate tenants delete`. Invariants:
// - Nothing changes before every check passed: the tenant exists, both confirmations name it,
//   no move of it is open, and every placement this process knows answers at the current
//   migration (a placement it left by a finished move keeps its fence and tenant rows there).
// - Steps, each committed by itself and safe to rerun: a tombstone marks the deletion under way;
//   (a) in every database holding the tenant's rows (its placement, a placement it left, the
//   control plane) its fence says `moved` to `deleted`, taken like a move's (writes in flight end
//   first, later ones are refused), so the append-only guards let its rows go; (b) every row of
//   its data there goes; (c) in the control plane, in one transaction: its data there, keys (a
//   revocation announced on agate_keys), moves, placement, fence and tenant row, with the
//   tombstone completed (who, when, rows per table) and a tenant-less audit entry; (d) in every
//   other database, its stragglers, fence and tenant row, in one transaction each. A rerun
//   after the tombstone is complete only does (d) where a row is left, and reports it deleted.
import { isConnectionFailure, schemaStatus, withMaintenance } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { deleteTenantRows, tenantDataTables } from '../events/index.js';
import { AgateError } from '../errors/index.js';
import { dropCachedTenant, keysChannel, tenantPayload } from '../keys/index.js';
import { putFence, selectFence, selectOpenMove, waitForEarlierWriters } from '../moves/index.js';
import type { Placement, PlacementRouter, PlacementStore } from '../placements/index.js';
import { selectPlacement } from '../placements/index.js';
import {
  addTombstoneCounts,
  deleteTenantRecords,
  insertDeletionAudit,
  insertTombstone,
  selectTenantName,
  selectTombstone,
} from './delete-tenant.queries.js';
import type { TenantTombstone } from './delete-tenant.queries.js';

/** The steps a deletion reports as it commits each (a test stops it there, as a kill would). */
export type DeleteStep = 'requested' | 'fenced' | 'removed' | 'forgotten' | 'done';

export type DeleteTenantInput = {
  tenantId: string;
  router: PlacementRouter<PlacementStore>;
  /** Who deletes it: `cli` for the operator at the command line. */
  actor: string;
  /** The tenant's id and name again, exactly: a deletion is never a typo's. */
  confirm: { tenantId: string; name: string };
  /** How long the fence may wait for the tenant's writes in flight (ms); default 10000. */
  fenceLockMs?: number;
  onStep?: (step: DeleteStep) => void;
};

export type DeleteTenantReport = {
  tenantId: string;
  name: string;
  placement: string;
  /** Rows removed, by table, over every database (a rerun's report says the first run's too). */
  removed: Record<string, number>;
  deletedBy: string;
  requestedAt: Date;
  deletedAt: Date;
  /** True when an earlier run had completed the deletion already. */
  alreadyDeleted: boolean;
};

/** The fence's advisory lock, as the append functions and admin.check_tenant_fence take it. */
const fenceKey = `hashtextextended('agate.fence:' || $1::text, 0)`;

type Database = { placement: Placement; pool: Pool };

function checkConfirmation(input: DeleteTenantInput, name: string): void {
  const { confirm, tenantId } = input;
  if (confirm.tenantId.toLowerCase() !== tenantId.toLowerCase() || confirm.name !== name) {
    throw new AgateError(
      'invalid_request',
      `Deleting tenant ${tenantId} removes all of its data for good; confirm it with --confirm ${tenantId} --confirm-name '${name}' (its id and its name, exactly). Nothing was changed.`,
    );
  }
}

async function requireUp(database: Database): Promise<void> {
  const status = await schemaStatus(database.pool).catch(() => null);
  if (status === null || status.pending.length > 0) {
    throw new AgateError(
      'placement_unavailable',
      `Placement ${database.placement} ${status === null ? 'does not answer' : 'is behind on migrations (run agate migrate)'}; a deletion needs every placement, since one the tenant left may still hold its rows. Nothing was changed.`,
      { details: { placement: database.placement } },
    );
  }
}

/** Runs `work` in one transaction in the tenant's context, on a connection of its own. */
async function inTenantTransaction<T>(
  pool: Pool,
  tenantId: string,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    await client.query(`SELECT set_config('agate.removing_tenant', $1, true)`, [tenantId]);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * (a) The tenant's fence here says `moved` to `deleted`: first `fenced` (writes from then on take
 * the fence lock shared), then, once the transactions older than that row and the writes that
 * hold the lock have ended, `moved` under the lock held exclusively, so no write of the tenant
 * is in flight when its rows go and every later one is refused (AG004).
 */
async function fenceTenant(pool: Pool, tenantId: string, lockMs: number): Promise<void> {
  const client = await pool.connect();
  let healthy = false;
  try {
    if ((await selectFence(client, tenantId))?.state === 'moved') {
      healthy = true;
      return;
    }
    const fence = { tenantId, moveId: tenantId, placement: 'deleted' };
    await putFence(client, { ...fence, state: 'fenced' });
    await waitForEarlierWriters(client);
    await client.query(`SET lock_timeout = ${Math.trunc(lockMs)}`);
    await client.query(`SELECT pg_advisory_lock(${fenceKey})`, [tenantId]);
    await client.query('SET lock_timeout = 0');
    await putFence(client, { ...fence, state: 'moved' });
    await client.query(`SELECT pg_advisory_unlock(${fenceKey})`, [tenantId]);
    healthy = true;
  } finally {
    // A connection that failed half way may still hold the lock: it ends rather than returns.
    client.release(!healthy);
  }
}

/** The rows removed of each data table, as counts by table name. */
function removeData(client: PoolClient, tenantId: string): Promise<Record<string, number>> {
  return deleteTenantRows(client, { tenantId, tables: tenantDataTables });
}

function sum(...counts: Record<string, number>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const c of counts) {
    for (const [table, n] of Object.entries(c)) total[table] = (total[table] ?? 0) + n;
  }
  return total;
}

/** (d) A database but the control plane: the tenant's stragglers, then its own rows there. */
async function forgetIn(database: Database, tenantId: string): Promise<Record<string, number>> {
  return inTenantTransaction(database.pool, tenantId, async (client) => {
    if ((await selectTenantName(client, tenantId)) === undefined) return {};
    return sum(await removeData(client, tenantId), await deleteTenantRecords(client, tenantId));
  });
}

/** The databases but the control plane that hold a tenant row of it (its placement, ones it left). */
async function databasesHolding(
  router: PlacementRouter<PlacementStore>,
  tenantId: string,
): Promise<Database[]> {
  const holding: Database[] = [];
  for (const placed of router.all()) {
    if (placed.placement === 'shared') continue;
    const database = { placement: placed.placement, pool: placed.agate.pool };
    const name = await inTenantTransaction(database.pool, tenantId, (client) =>
      selectTenantName(client, tenantId),
    );
    if (name !== undefined) holding.push(database);
  }
  return holding;
}

function reportOf(tombstone: TenantTombstone, alreadyDeleted: boolean): DeleteTenantReport {
  if (tombstone.deletedAt === null) throw new Error('the tombstone is not complete');
  return {
    tenantId: tombstone.tenantId,
    name: tombstone.name,
    placement: tombstone.placement,
    removed: tombstone.counts,
    deletedBy: tombstone.deletedBy,
    requestedAt: tombstone.requestedAt,
    deletedAt: tombstone.deletedAt,
    alreadyDeleted,
  };
}

type Checked = { name: string; placement: string; resumed: TenantTombstone | undefined };

/** Every refusal, before anything changes; the tombstone of a completed deletion, if any. */
async function check(input: DeleteTenantInput): Promise<Checked | { done: TenantTombstone }> {
  const { tenantId, router } = input;
  const control = router.control.pool;
  const tombstone = await selectTombstone(control, tenantId);
  if (tombstone?.deletedAt != null) {
    checkConfirmation(input, tombstone.name);
    return { done: tombstone };
  }
  const [name, placement] = await withMaintenance(control, async (tx) => [
    await selectTenantName(tx, tenantId),
    await selectPlacement(tx, tenantId),
  ]);
  if (name === undefined || placement === undefined) {
    throw new AgateError(
      'tenant_not_found',
      `No tenant ${tenantId}; agate tenants list shows the tenants, agate tenants tombstones the deleted ones. Nothing was changed.`,
    );
  }
  checkConfirmation(input, name);
  const open = await selectOpenMove(control, tenantId);
  if (open !== undefined) {
    throw new AgateError(
      'invalid_request',
      `Tenant ${tenantId} has an open move to ${open.target} (move ${open.id}); finish it (agate tenants move ${tenantId} --finish) or roll it back (--abort) first. Nothing was changed.`,
    );
  }
  // Its placement must be one this process knows (placement_unavailable otherwise).
  router.agateOf(placement as Placement);
  for (const placed of router.all()) {
    await requireUp({ placement: placed.placement, pool: placed.agate.pool });
  }
  return { name, placement, resumed: tombstone };
}

/**
 * Deletes the tenant everywhere and returns its tombstone's report; rerun after a failure or a
 * kill, it resumes, and after completion it reports the deletion again (`alreadyDeleted`).
 */
export async function deleteTenant(input: DeleteTenantInput): Promise<DeleteTenantReport> {
  const { tenantId, router } = input;
  const control: Database = { placement: 'shared', pool: router.control.pool };
  const step = input.onStep ?? (() => undefined);
  const checked = await check(input).catch((error: unknown) => {
    throw isConnectionFailure(error)
      ? new AgateError(
          'placement_unavailable',
          `A placement stopped answering while the deletion of tenant ${tenantId} was checked; nothing was changed. Rerun when it answers.`,
          { cause: error },
        )
      : error;
  });
  if ('done' in checked) {
    for (const database of await databasesHolding(router, tenantId)) {
      await addTombstoneCounts(control.pool, {
        tenantId,
        counts: await forgetIn(database, tenantId),
        complete: true,
      });
    }
    const tombstone = await selectTombstone(control.pool, tenantId);
    return reportOf(tombstone ?? checked.done, true);
  }
  if (checked.resumed === undefined) {
    await inTenantTransaction(control.pool, tenantId, async (client) => {
      await insertTombstone(client, {
        tenantId,
        name: checked.name,
        placement: checked.placement,
        deletedBy: input.actor,
      });
      await insertDeletionAudit(client, {
        tenantId,
        actor: input.actor,
        action: 'tenant.delete_requested',
        details: { name: checked.name, placement: checked.placement },
      });
    });
  }
  step('requested');
  const others = await databasesHolding(router, tenantId);
  const lockMs = input.fenceLockMs ?? 10_000;
  for (const database of [...others, control]) {
    await fenceTenant(database.pool, tenantId, lockMs);
  }
  step('fenced');
  for (const database of others) {
    const counts = await inTenantTransaction(database.pool, tenantId, (client) =>
      removeData(client, tenantId),
    );
    await addTombstoneCounts(control.pool, { tenantId, counts, complete: false });
  }
  step('removed');
  const tombstone = await inTenantTransaction(control.pool, tenantId, async (client) => {
    const counts = sum(
      await removeData(client, tenantId),
      await deleteTenantRecords(client, tenantId),
    );
    // Every process's key cache drops the tenant's keys at the commit (never if it fails).
    await client.query('SELECT pg_notify($1, $2)', [keysChannel, tenantPayload(tenantId)]);
    const completed = await addTombstoneCounts(client, { tenantId, counts, complete: true });
    await insertDeletionAudit(client, {
      tenantId,
      actor: input.actor,
      action: 'tenant.deleted',
      details: { name: completed.name, placement: completed.placement, removed: completed.counts },
    });
    return completed;
  });
  dropCachedTenant(tenantId);
  router.forget(tenantId);
  step('forgotten');
  let final = tombstone;
  for (const database of others) {
    final = await addTombstoneCounts(control.pool, {
      tenantId,
      counts: await forgetIn(database, tenantId),
      complete: true,
    });
  }
  step('done');
  return reportOf(final, false);
}
