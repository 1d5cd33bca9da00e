// The two ends of a move that are not its switch (ADR 0034): `--finish` removes the tenant's rows
// from the placement it left (its fence there keeps saying `moved`, so a stale writer is still
// refused), `--abort` rolls an unswitched move back (the tenant stays at the source, its partial
// copy leaves the target). Invariants: each acts on the tenant's open move only, records the
// step in the control plane and the audit log, and removes rows only from a placement where the
// tenant's fence says `moved` (the append-only guards refuse anything else, migration 0018).
import { recordAudit } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { deleteMovedTenantRows } from '../events/index.js';
import { AgateError } from '../errors/index.js';
import type { Placement, PlacementRouter, PlacementStore } from '../placements/index.js';
import {
  deleteFence,
  markDataElsewhere,
  putFence,
  selectFence,
  selectOpenMove,
  updateMove,
} from './move-records.js';

export type EndMoveInput = {
  tenantId: string;
  router: PlacementRouter<PlacementStore>;
  actor: string;
};

export type EndMoveReport = {
  moveId: string;
  tenantId: string;
  source: Placement;
  target: Placement;
  step: 'finished' | 'rolled_back';
  /** Rows removed from the placement the tenant is not on (the source, or the target). */
  removed: number;
};

/** Removes the tenant's rows from `pool`'s database in one transaction in its context. */
async function removeRows(
  pool: Pool,
  input: { tenantId: string; keepAudit: boolean },
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [input.tenantId]);
    const removed = await deleteMovedTenantRows(client, input);
    await client.query('COMMIT');
    return removed;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Ends a switched move: the source's rows of the tenant go. */
export async function finishMove(input: EndMoveInput): Promise<EndMoveReport> {
  const { tenantId, router } = input;
  const control = router.control.pool;
  const open = await selectOpenMove(control, tenantId);
  if (open?.step !== 'switched') {
    throw new AgateError(
      'invalid_request',
      open === undefined
        ? `Tenant ${tenantId} has no move to finish.`
        : `The move of tenant ${tenantId} to ${open.target} has not switched yet; rerun agate tenants move ${tenantId} --to ${open.target} first.`,
    );
  }
  const source = open.source as Placement;
  const pool = router.agateOf(source).pool;
  const fence = await selectFence(pool, tenantId);
  if (fence?.state !== 'moved') {
    throw new AgateError(
      'integrity_violation',
      `The source ${source} does not refuse tenant ${tenantId}'s writes (its fence is ${fence?.state ?? 'missing'}); nothing was removed.`,
    );
  }
  // The control plane keeps its audit entries: they also record the tenant's keys and moves.
  const removed = await removeRows(pool, { tenantId, keepAudit: source === 'shared' });
  await updateMove(control, open.id, { step: 'finished' });
  await recordAudit(router.agateOf(open.target as Placement).pool, {
    tenantId,
    actor: input.actor,
    action: 'tenant.move.finished',
    subject: open.id,
    details: { source, target: open.target, removed },
  });
  return {
    moveId: open.id,
    tenantId,
    source,
    target: open.target as Placement,
    step: 'finished',
    removed,
  };
}

/** Rolls back a move that has not switched: the source is free again, the copy leaves the target. */
export async function abortMove(input: EndMoveInput): Promise<EndMoveReport> {
  const { tenantId, router } = input;
  const control = router.control.pool;
  const open = await selectOpenMove(control, tenantId);
  if (open?.step !== 'copying') {
    throw new AgateError(
      'invalid_request',
      open === undefined
        ? `Tenant ${tenantId} has no move to roll back.`
        : `The move of tenant ${tenantId} to ${open.target} has switched already; move it back instead (agate tenants move ${tenantId} --finish, then --to ${open.source}).`,
    );
  }
  const source = open.source as Placement;
  const target = open.target as Placement;
  const targetPool = router.agateOf(target).pool;
  await putFence(targetPool, { tenantId, moveId: open.id, state: 'moved', placement: source });
  const removed = await removeRows(targetPool, { tenantId, keepAudit: target === 'shared' });
  await deleteFence(targetPool, tenantId);
  if (target !== 'shared') {
    const client = await targetPool.connect();
    try {
      await markDataElsewhere(client, tenantId, source === 'shared' ? target : source);
    } finally {
      client.release();
    }
  }
  await deleteFence(router.agateOf(source).pool, tenantId);
  await updateMove(control, open.id, { step: 'rolled_back' });
  await recordAudit(router.agateOf(source).pool, {
    tenantId,
    actor: input.actor,
    action: 'tenant.move.rolled_back',
    subject: open.id,
    details: { source, target, removed },
  });
  return { moveId: open.id, tenantId, source, target, step: 'rolled_back', removed };
}
