import { and, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import {
  apiKeys,
  auditLog,
  isUuid,
  operatorKeys,
  requireTenantId,
  withMaintenance,
} from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { dropCachedKey, keysChannel } from './key-cache.js';
import { checkRateLimitSetting, storedSetting } from './rate-limit-setting.js';
import type { RateLimitSetting } from './rate-limit-setting.js';

export type SetKeyRateLimitInput = {
  id: string;
  /** Only a key of this tenant; when absent (the CLI), a key of any tenant. */
  tenantId?: string;
  /** The key's own limit, or null to inherit its tenant's (else the server's). */
  rateLimit: RateLimitSetting | null;
  /** Who changes it, for the audit log: an admin key's id, or `cli`. */
  actor: string;
};

export type KeyRateLimitChange = {
  id: string;
  tenantId: string;
  rateLimit: RateLimitSetting | null;
  previous: RateLimitSetting | null;
};

/**
 * Sets or clears a tenant key's own rate limit and records it in the audit log
 * (`api_key.limit_set`), in one transaction as agate_maintenance; undefined when no such key
 * exists (in the tenant, when one is given). Announced like a revocation: this process's caches
 * drop the key at once, others when they hear `agate_keys`, and within their expiry in any case.
 * An operator key is refused (`invalid_request`): it has no limit of its own.
 */
export async function setKeyRateLimit(
  pool: Pool,
  input: SetKeyRateLimitInput,
): Promise<KeyRateLimitChange | undefined> {
  const tenantId = input.tenantId === undefined ? undefined : requireTenantId(input.tenantId);
  const rateLimit = checkRateLimitSetting(input.rateLimit, `key ${input.id}`);
  if (!isUuid(input.id)) return undefined;
  const id = input.id.toLowerCase();
  const done = await withMaintenance(pool, async (tx) => {
    const db = drizzle(tx);
    const [row] = await db
      .select({
        tenantId: apiKeys.tenantId,
        perSecond: apiKeys.rateLimitPerSecond,
        burst: apiKeys.rateLimitBurst,
      })
      .from(apiKeys)
      .where(
        and(
          eq(apiKeys.id, id),
          tenantId === undefined ? undefined : eq(apiKeys.tenantId, tenantId),
        ),
      )
      .for('update');
    if (row === undefined) {
      if (tenantId === undefined) await refuseOperatorKey(tx, id);
      return undefined;
    }
    await db
      .update(apiKeys)
      .set({
        rateLimitPerSecond: rateLimit?.perSecond ?? null,
        rateLimitBurst: rateLimit?.burst ?? null,
        updatedAt: new Date(),
      })
      .where(eq(apiKeys.id, id));
    const previous = storedSetting(row.perSecond, row.burst);
    await db.insert(auditLog).values({
      id: uuidv7(),
      tenantId: row.tenantId,
      actor: input.actor,
      action: 'api_key.limit_set',
      subject: id,
      details: { rateLimit, previous },
    });
    // Delivered at the commit, to every process's key cache (never when the transaction fails).
    await tx.query('SELECT pg_notify($1, $2)', [keysChannel, id]);
    return { id, tenantId: row.tenantId, rateLimit, previous };
  });
  if (done !== undefined) dropCachedKey(id);
  return done;
}

async function refuseOperatorKey(tx: PoolClient, id: string): Promise<void> {
  const [operator] = await drizzle(tx)
    .select({ id: operatorKeys.id })
    .from(operatorKeys)
    .where(eq(operatorKeys.id, id));
  if (operator === undefined) return;
  throw new AgateError(
    'invalid_request',
    `Key ${id} is an operator key: it has no rate limit of its own and always gets the server's (AGATE_RATE_LIMIT); nothing was changed.`,
  );
}
