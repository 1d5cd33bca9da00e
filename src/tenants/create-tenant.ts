import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, isUuid, tenants, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { checkRateLimitSetting, insertKey } from '../keys/index.js';
import type { CreatedKey, RateLimitSetting } from '../keys/index.js';
import { updatePlacement } from '../placements/index.js';
import type { Placement } from '../placements/index.js';

/** A tenant; `rateLimit` is the limit of its keys without their own (null: the server's). */
export type Tenant = {
  id: string;
  name: string;
  createdAt: Date;
  rateLimit: RateLimitSetting | null;
};
export type CreateTenantInput = {
  name: string;
  id?: string;
  actor: string;
  /** The limit of its keys without their own; absent or null inherits the server's. */
  rateLimit?: RateLimitSetting | null;
  /** Also create the tenant's first admin key, in the same transaction. */
  adminKey?: boolean;
  /**
   * Where its data will live (ADR 0032); default `shared`. A `database:` placement needs
   * `target`, that server's pool, where the tenant's row is written before the control plane
   * commits.
   */
  placement?: Placement;
};
export type CreatedTenant = Tenant & { placement: Placement; adminKey: CreatedKey | null };

/**
 * Creates a tenant (and its first admin key if asked), places it, and records it in the audit log,
 * in one transaction of the control plane `pool`. For a `database:` placement the tenant's row is
 * also written to `target` first (a database at the same migration), so a failure there stores
 * nothing in the control plane; a row left on the target by a control plane that then failed to
 * commit names a tenant no key can reach.
 */
export async function createTenant(
  pool: Pool,
  input: CreateTenantInput,
  target?: Pool,
): Promise<CreatedTenant> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length === 0 || name.length > 200) {
    throw new AgateError('invalid_request', 'A tenant needs a name of 1 to 200 characters.');
  }
  if (input.id !== undefined && !isUuid(input.id)) {
    throw new AgateError('invalid_request', 'A tenant id must be a UUID (or leave it out).');
  }
  const id = input.id?.toLowerCase() ?? uuidv7();
  const rateLimit = checkRateLimitSetting(input.rateLimit ?? null, `a new tenant`);
  const placement = input.placement ?? 'shared';
  if ((placement === 'shared') !== (target === undefined)) {
    throw new AgateError(
      'internal',
      `createTenant: a ${placement} placement ${target === undefined ? 'needs' : 'takes no'} target pool.`,
    );
  }
  return withMaintenance(pool, async (tx) => {
    const db = drizzle(tx);
    const [row] = await db
      .insert(tenants)
      .values({
        id,
        name,
        rateLimitPerSecond: rateLimit?.perSecond ?? null,
        rateLimitBurst: rateLimit?.burst ?? null,
      })
      .returning();
    await db.insert(auditLog).values({
      id: uuidv7(),
      tenantId: id,
      actor: input.actor,
      action: 'tenant.created',
      subject: id,
      details: { name, placement, ...(rateLimit === null ? {} : { rateLimit }) },
    });
    if (row === undefined) throw new AgateError('internal', 'The tenant insert returned no row.');
    if (target !== undefined) {
      await updatePlacement(tx, id, placement);
      await placeTenantRow(target, { id, name, createdAt: row.createdAt });
    }
    const adminKey =
      input.adminKey === true
        ? await insertKey(tx, {
            tenantId: id,
            role: 'admin',
            label: 'first admin',
            actor: input.actor,
          })
        : null;
    return { id: row.id, name: row.name, createdAt: row.createdAt, rateLimit, placement, adminKey };
  });
}

/**
 * The tenant's row in its placement's own database, which its sessions and players name; its
 * keys and limits stay in the control plane. A rerun finds the row there and leaves it.
 */
async function placeTenantRow(
  target: Pool,
  tenant: { id: string; name: string; createdAt: Date },
): Promise<void> {
  await withMaintenance(target, async (tx) => {
    await tx.query(
      'INSERT INTO public.tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
      [tenant.id, tenant.name, tenant.createdAt],
    );
  });
}
