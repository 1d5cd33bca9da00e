// The control plane's record of moves (admin.tenant_moves) and the placements' fence rows
// (admin.tenant_fences), migration 0018. Invariants: run as the login that owns the schema (the
// tables have no grant to agate's roles); at most one move of a tenant is open (copying or
// switched), which the table's partial unique index enforces against two movers at once.
import type { PoolClient, Queryable } from '../db/index.js';
import { updatePlacement } from '../placements/index.js';

export type MoveStep = 'copying' | 'switched' | 'finished' | 'rolled_back';

export type MoveRecord = {
  id: string;
  tenantId: string;
  source: string;
  target: string;
  step: MoveStep;
  counts: Record<string, number>;
  longestFenceMs: number | null;
  startedAt: Date;
  endedAt: Date | null;
};

type MoveRow = {
  id: string;
  tenant_id: string;
  source: string;
  target: string;
  step: MoveStep;
  counts: Record<string, number>;
  longest_fence_ms: number | null;
  started_at: Date;
  ended_at: Date | null;
};

const asRecord = (r: MoveRow): MoveRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  source: r.source,
  target: r.target,
  step: r.step,
  counts: r.counts,
  longestFenceMs: r.longest_fence_ms,
  startedAt: r.started_at,
  endedAt: r.ended_at,
});

/** The tenant's open move (copying, or switched and not finished), if any. */
export async function selectOpenMove(
  db: Queryable,
  tenantId: string,
): Promise<MoveRecord | undefined> {
  const r = await db.query<MoveRow>(
    `SELECT * FROM admin.tenant_moves WHERE tenant_id = $1 AND step IN ('copying', 'switched')`,
    [tenantId],
  );
  const row = r.rows[0];
  return row === undefined ? undefined : asRecord(row);
}

/** The tenant's moves, newest first. */
export async function selectMoves(db: Queryable, tenantId: string): Promise<MoveRecord[]> {
  const r = await db.query<MoveRow>(
    'SELECT * FROM admin.tenant_moves WHERE tenant_id = $1 ORDER BY started_at DESC, id',
    [tenantId],
  );
  return r.rows.map(asRecord);
}

/** A new open move; false when another one of the tenant is open (a concurrent mover won). */
export async function insertMove(
  db: Queryable,
  move: { id: string; tenantId: string; source: string; target: string },
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO admin.tenant_moves (id, tenant_id, source, target, step)
     VALUES ($1, $2, $3, $4, 'copying')
     ON CONFLICT (tenant_id) WHERE step IN ('copying', 'switched') DO NOTHING`,
    [move.id, move.tenantId, move.source, move.target],
  );
  return r.rowCount === 1;
}

/** Moves the record on to `step`, with its counts and longest fence so far. */
export async function updateMove(
  db: Queryable,
  id: string,
  change: { step: MoveStep; counts?: Record<string, number>; longestFenceMs?: number | null },
): Promise<void> {
  await db.query(
    `UPDATE admin.tenant_moves
        SET step = $2, counts = coalesce($3::jsonb, counts),
            longest_fence_ms = coalesce($4::integer, longest_fence_ms), updated_at = now(),
            ended_at = CASE WHEN $2 IN ('finished', 'rolled_back') THEN now() ELSE ended_at END
      WHERE id = $1`,
    [
      id,
      change.step,
      change.counts === undefined ? null : JSON.stringify(change.counts),
      change.longestFenceMs ?? null,
    ],
  );
}

export type FenceState = 'copying' | 'fenced' | 'moved' | 'arriving';
export type FenceRow = {
  moveId: string;
  state: FenceState;
  placement: string;
  copiedThrough: string | null;
};

/** The tenant's fence row in this placement, if any. */
export async function selectFence(db: Queryable, tenantId: string): Promise<FenceRow | undefined> {
  const r = await db.query<{
    move_id: string;
    state: FenceState;
    placement: string;
    copied_through: string | null;
  }>(
    'SELECT move_id, state, placement, copied_through FROM admin.tenant_fences WHERE tenant_id = $1',
    [tenantId],
  );
  const row = r.rows[0];
  return row === undefined
    ? undefined
    : {
        moveId: row.move_id,
        state: row.state,
        placement: row.placement,
        copiedThrough: row.copied_through,
      };
}

/**
 * Sets the tenant's fence row for `moveId`: inserted, or taken over from an earlier move (its
 * progress kept only when it is this move's).
 */
export async function putFence(
  db: Queryable,
  fence: {
    tenantId: string;
    moveId: string;
    state: FenceState;
    placement: string;
    waitMs?: number;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO admin.tenant_fences (tenant_id, move_id, state, placement, wait_ms)
     VALUES ($1, $2, $3, $4, coalesce($5::integer, 2000))
     ON CONFLICT (tenant_id) DO UPDATE
        SET state = EXCLUDED.state, placement = EXCLUDED.placement,
            wait_ms = coalesce($5::integer, admin.tenant_fences.wait_ms),
            copied_through = CASE WHEN admin.tenant_fences.move_id = EXCLUDED.move_id
                                  THEN admin.tenant_fences.copied_through END,
            move_id = EXCLUDED.move_id, updated_at = now()`,
    [fence.tenantId, fence.moveId, fence.state, fence.placement, fence.waitMs ?? null],
  );
}

/** Removes the tenant's fence row: its writes here are no longer held or refused. */
export async function deleteFence(db: Queryable, tenantId: string): Promise<void> {
  await db.query('DELETE FROM admin.tenant_fences WHERE tenant_id = $1', [tenantId]);
}

/** Copies the tenant's row from the control plane into a placement (no-op when it is there). */
export async function ensureTenantRow(
  control: Queryable,
  target: Queryable,
  tenantId: string,
): Promise<void> {
  const r = await control.query<{ row: Record<string, unknown> }>(
    'SELECT to_jsonb(t) AS row FROM public.tenants t WHERE t.id = $1',
    [tenantId],
  );
  const row = r.rows[0]?.row;
  if (row === undefined) throw new Error(`no tenant ${tenantId} in the control plane`);
  await target.query(
    `INSERT INTO public.tenants SELECT * FROM jsonb_populate_record(NULL::public.tenants, $1::jsonb)
     ON CONFLICT (id) DO NOTHING`,
    [JSON.stringify(row)],
  );
}

/**
 * Marks, in a placement the tenant has left, that its data is not here (ADR 0032: any placement
 * but `shared` in a placement database's own table), so its consumers there pass it over. As
 * agate_maintenance, the one role that may write admin.tenant_placements.
 */
export async function markDataElsewhere(
  db: PoolClient,
  tenantId: string,
  placement: string,
): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query(`SELECT set_config('role', 'agate_maintenance', true)`);
    await updatePlacement(db, tenantId, placement);
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Marks, in a placement the tenant enters, that its data is here. */
export async function markDataHere(db: PoolClient, tenantId: string): Promise<void> {
  await markDataElsewhere(db, tenantId, 'shared');
}
