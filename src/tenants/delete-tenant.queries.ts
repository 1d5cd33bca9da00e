// The SQL of deleting a tenant (issue 19, offboarding) that is not its data's: the tombstone
// (migration 0019), the control plane's records of the tenant, and a placement's own rows of it.
// Invariants: run as the login that owns the schema (the tombstones and fences have no grant to
// agate's roles), in a transaction whose session names the tenant in app.tenant_id (row-level
// security is forced on the tenant tables) and agate.removing_tenant (the append-only guards and
// the placements' removal policy, migrations 0018 and 0019); every statement names the tenant.
import { uuidv7 } from 'uuidv7';
import type { Queryable } from '../db/index.js';

export type TenantTombstone = {
  tenantId: string;
  name: string;
  placement: string;
  deletedBy: string;
  requestedAt: Date;
  /** Null while the deletion is under way (a rerun resumes it). */
  deletedAt: Date | null;
  /** Rows removed, by table (schema-qualified), over every database. */
  counts: Record<string, number>;
};

type TombstoneRow = {
  tenant_id: string;
  name: string;
  placement: string;
  deleted_by: string;
  requested_at: Date;
  deleted_at: Date | null;
  counts: Record<string, number>;
};

const asTombstone = (r: TombstoneRow): TenantTombstone => ({
  tenantId: r.tenant_id,
  name: r.name,
  placement: r.placement,
  deletedBy: r.deleted_by,
  requestedAt: r.requested_at,
  deletedAt: r.deleted_at,
  counts: r.counts,
});

/** The tenant's tombstone, if its deletion was ever asked for. */
export async function selectTombstone(
  db: Queryable,
  tenantId: string,
): Promise<TenantTombstone | undefined> {
  const r = await db.query<TombstoneRow>(
    'SELECT * FROM admin.tenant_tombstones WHERE tenant_id = $1',
    [tenantId],
  );
  const row = r.rows[0];
  return row === undefined ? undefined : asTombstone(row);
}

/** Every tombstone, the latest deletion first (those under way before the rest). */
export async function selectTombstones(db: Queryable): Promise<TenantTombstone[]> {
  const r = await db.query<TombstoneRow>(
    `SELECT * FROM admin.tenant_tombstones
      ORDER BY deleted_at DESC NULLS FIRST, requested_at DESC, tenant_id`,
  );
  return r.rows.map(asTombstone);
}

/** The tombstone of a deletion asked for now (left as it is when one is there already). */
export async function insertTombstone(
  db: Queryable,
  t: { tenantId: string; name: string; placement: string; deletedBy: string },
): Promise<void> {
  await db.query(
    `INSERT INTO admin.tenant_tombstones (tenant_id, name, placement, deleted_by)
     VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING`,
    [t.tenantId, t.name, t.placement, t.deletedBy],
  );
}

/**
 * Adds `counts` to the tombstone's, table by table; with `complete`, also stamps deleted_at
 * (once). Returns the tombstone as it is now.
 */
export async function addTombstoneCounts(
  db: Queryable,
  input: { tenantId: string; counts: Record<string, number>; complete: boolean },
): Promise<TenantTombstone> {
  const r = await db.query<TombstoneRow>(
    `UPDATE admin.tenant_tombstones t
        SET counts = coalesce((
              SELECT jsonb_object_agg(k, coalesce((t.counts ->> k)::bigint, 0)
                                       + coalesce(($2::jsonb ->> k)::bigint, 0))
                FROM (SELECT jsonb_object_keys(t.counts) UNION SELECT jsonb_object_keys($2::jsonb)) keys (k)
            ), '{}'::jsonb),
            deleted_at = CASE WHEN $3 THEN coalesce(t.deleted_at, now()) ELSE t.deleted_at END
      WHERE t.tenant_id = $1
      RETURNING t.*`,
    [input.tenantId, JSON.stringify(input.counts), input.complete],
  );
  const row = r.rows[0];
  if (row === undefined) throw new Error(`no tombstone of tenant ${input.tenantId}`);
  return asTombstone(row);
}

/** The tenant's row here: its name, or undefined when this database has none. */
export async function selectTenantName(
  db: Queryable,
  tenantId: string,
): Promise<string | undefined> {
  const r = await db.query<{ name: string }>('SELECT name FROM public.tenants WHERE id = $1', [
    tenantId,
  ]);
  return r.rows[0]?.name;
}

/**
 * Removes the tenant's own rows of a database (after its data): its keys and moves (the control
 * plane's), its placement row, its fence row and its tenant row, in that order (the foreign
 * keys). Returns the rows removed from each table; the fence row is the deletion's own and is
 * not counted.
 */
export async function deleteTenantRecords(
  db: Queryable,
  tenantId: string,
): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  for (const [table, column] of [
    ['public.api_keys', 'tenant_id'],
    ['admin.tenant_moves', 'tenant_id'],
    ['admin.tenant_placements', 'tenant_id'],
    ['admin.tenant_fences', 'tenant_id'],
    ['public.tenants', 'id'],
  ] as const) {
    const r = await db.query(`DELETE FROM ${table} WHERE ${column} = $1`, [tenantId]);
    if (table !== 'admin.tenant_fences') removed[table] = r.rowCount ?? 0;
  }
  return removed;
}

/**
 * A tenant-less audit entry about the tenant's deletion (its subject the tenant id), as
 * agate_maintenance for the rest of the caller's transaction: the tenant's own entries go with it.
 */
export async function insertDeletionAudit(
  db: Queryable,
  entry: { tenantId: string; actor: string; action: string; details: Record<string, unknown> },
): Promise<void> {
  await db.query(`SELECT set_config('role', 'agate_maintenance', true)`);
  await db.query(
    `INSERT INTO admin.audit_log (id, tenant_id, actor, action, subject, details)
     VALUES ($1, NULL, $2, $3, $4, $5::jsonb)`,
    [uuidv7(), entry.actor, entry.action, entry.tenantId, JSON.stringify(entry.details)],
  );
}
