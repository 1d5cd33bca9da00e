import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, requireTenantId, tenants, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import {
  checkRateLimitSetting,
  dropCachedTenant,
  keysChannel,
  storedSetting,
  tenantPayload,
} from '../keys/index.js';
import type { RateLimitSetting } from '../keys/index.js';

export type SetTenantRateLimitInput = {
  tenantId: string;
  /** The limit of every key of the tenant without its own, or null to inherit the server's. */
  rateLimit: RateLimitSetting | null;
  /** Who changes it, for the audit log: an operator key's id, or `cli`. */
  actor: string;
};

export type TenantRateLimitChange = {
  tenantId: string;
  rateLimit: RateLimitSetting | null;
  previous: RateLimitSetting | null;
};

/**
 * Sets or clears a tenant's rate limit and records it in the audit log (`tenant.limit_set`), in
 * one transaction as agate_maintenance; `tenant_not_found` when there is no such tenant.
 * Announced on `agate_keys` as `tenant:<id>`: every key cache drops the tenant's keys (this
 * process's at once), and within its expiry in any case.
 */
export async function setTenantRateLimit(
  pool: Pool,
  input: SetTenantRateLimitInput,
): Promise<TenantRateLimitChange> {
  const tenantId = requireTenantId(input.tenantId);
  const rateLimit = checkRateLimitSetting(input.rateLimit, `tenant ${tenantId}`);
  const done = await withMaintenance(pool, async (tx) => {
    const db = drizzle(tx);
    const [row] = await db
      .select({ perSecond: tenants.rateLimitPerSecond, burst: tenants.rateLimitBurst })
      .from(tenants)
      .where(eq(tenants.id, tenantId))
      .for('update');
    if (row === undefined) {
      throw new AgateError(
        'tenant_not_found',
        `Tenant ${tenantId} does not exist; agate tenants list shows the tenants. Nothing was changed.`,
      );
    }
    await db
      .update(tenants)
      .set({
        rateLimitPerSecond: rateLimit?.perSecond ?? null,
        rateLimitBurst: rateLimit?.burst ?? null,
        updatedAt: new Date(),
      })
      .where(eq(tenants.id, tenantId));
    const previous = storedSetting(row.perSecond, row.burst);
    await db.insert(auditLog).values({
      id: uuidv7(),
      tenantId,
      actor: input.actor,
      action: 'tenant.limit_set',
      subject: tenantId,
      details: { rateLimit, previous },
    });
    // Delivered at the commit, to every process's key cache (never when the transaction fails).
    await tx.query('SELECT pg_notify($1, $2)', [keysChannel, tenantPayload(tenantId)]);
    return { tenantId, rateLimit, previous };
  });
  dropCachedTenant(tenantId);
  return done;
}

/** A tenant's own rate limit (null: its keys inherit the server's); undefined for no tenant. */
export async function readTenantRateLimit(
  pool: Pool,
  tenantId: string,
): Promise<RateLimitSetting | null | undefined> {
  const id = requireTenantId(tenantId);
  const [row] = await withMaintenance(pool, (tx) =>
    drizzle(tx)
      .select({ perSecond: tenants.rateLimitPerSecond, burst: tenants.rateLimitBurst })
      .from(tenants)
      .where(eq(tenants.id, id)),
  );
  return row && storedSetting(row.perSecond, row.burst);
}
