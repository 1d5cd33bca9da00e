import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, isUuid, tenants, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';

export type Tenant = { id: string; name: string; createdAt: Date };
export type CreateTenantInput = { name: string; id?: string; actor: string };

/** Creates a tenant and records who did it in the audit log, in one transaction. */
export async function createTenant(pool: Pool, input: CreateTenantInput): Promise<Tenant> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length === 0 || name.length > 200) {
    throw new AgateError('invalid_request', 'A tenant needs a name of 1 to 200 characters.');
  }
  if (input.id !== undefined && !isUuid(input.id)) {
    throw new AgateError('invalid_request', 'A tenant id must be a UUID (or leave it out).');
  }
  const id = input.id?.toLowerCase() ?? uuidv7();
  return withMaintenance(pool, async (tx) => {
    const db = drizzle(tx);
    const [row] = await db.insert(tenants).values({ id, name }).returning();
    await db.insert(auditLog).values({
      id: uuidv7(),
      tenantId: id,
      actor: input.actor,
      action: 'tenant.created',
      subject: id,
      details: { name },
    });
    if (row === undefined) throw new AgateError('internal', 'The tenant insert returned no row.');
    return { id: row.id, name: row.name, createdAt: row.createdAt };
  });
}
