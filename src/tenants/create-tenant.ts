import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, isUuid, tenants, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { checkRateLimitSetting, insertKey } from '../keys/index.js';
import type { CreatedKey, RateLimitSetting } from '../keys/index.js';

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
};
export type CreatedTenant = Tenant & { adminKey: CreatedKey | null };

/** Creates a tenant (and its first admin key if asked) and records it in the audit log, in one transaction. */
export async function createTenant(pool: Pool, input: CreateTenantInput): Promise<CreatedTenant> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length === 0 || name.length > 200) {
    throw new AgateError('invalid_request', 'A tenant needs a name of 1 to 200 characters.');
  }
  if (input.id !== undefined && !isUuid(input.id)) {
    throw new AgateError('invalid_request', 'A tenant id must be a UUID (or leave it out).');
  }
  const id = input.id?.toLowerCase() ?? uuidv7();
  const rateLimit = checkRateLimitSetting(input.rateLimit ?? null, `a new tenant`);
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
      details: { name, ...(rateLimit === null ? {} : { rateLimit }) },
    });
    if (row === undefined) throw new AgateError('internal', 'The tenant insert returned no row.');
    const adminKey =
      input.adminKey === true
        ? await insertKey(tx, {
            tenantId: id,
            role: 'admin',
            label: 'first admin',
            actor: input.actor,
          })
        : null;
    return { id: row.id, name: row.name, createdAt: row.createdAt, rateLimit, adminKey };
  });
}
