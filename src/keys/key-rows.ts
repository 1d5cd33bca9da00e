import { and, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { apiKeys, auditLog, operatorKeys } from '../db/index.js';
import type { PoolClient } from '../db/index.js';
import { keysChannel } from './key-cache.js';
import type { ApiKeyRole } from './key-roles.js';
import { storedSetting } from './rate-limit-setting.js';
import type { RateLimitSetting } from './rate-limit-setting.js';

// Row work shared by revocation and rotation; both run in a transaction as agate_maintenance.

/** A key row as revocation and rotation see it. */
export type LockedKey =
  | {
      kind: 'tenant';
      tenantId: string;
      role: ApiKeyRole;
      label: string | null;
      revokedAt: Date | null;
      rateLimit: RateLimitSetting | null;
    }
  | { kind: 'operator'; label: string | null; revokedAt: Date | null };

/** The key row, locked, in either table; undefined when neither holds it. */
export async function lockKey(
  tx: PoolClient,
  id: string,
  tenantId?: string,
): Promise<LockedKey | undefined> {
  const db = drizzle(tx);
  const [tenantKey] = await db
    .select({
      tenantId: apiKeys.tenantId,
      role: apiKeys.role,
      label: apiKeys.label,
      revokedAt: apiKeys.revokedAt,
      perSecond: apiKeys.rateLimitPerSecond,
      burst: apiKeys.rateLimitBurst,
    })
    .from(apiKeys)
    .where(
      and(eq(apiKeys.id, id), tenantId === undefined ? undefined : eq(apiKeys.tenantId, tenantId)),
    )
    .for('update');
  // api_keys_role_check holds role to the tenant roles.
  if (tenantKey !== undefined) {
    const { perSecond, burst, ...key } = tenantKey;
    return {
      kind: 'tenant',
      ...key,
      role: key.role as ApiKeyRole,
      rateLimit: storedSetting(perSecond, burst),
    };
  }
  if (tenantId !== undefined) return undefined;
  const [operatorKey] = await db
    .select({ label: operatorKeys.label, revokedAt: operatorKeys.revokedAt })
    .from(operatorKeys)
    .where(eq(operatorKeys.id, id))
    .for('update');
  return operatorKey && { kind: 'operator', ...operatorKey };
}

/**
 * Marks a locked, live key revoked at `at`, with `action` in the audit log (a tenant key's entry
 * in its tenant, an operator key's with none), and announces it on `agate_keys`, in the caller's
 * maintenance transaction.
 */
export async function markRevoked(
  tx: PoolClient,
  key: { id: string; tenantId: string | null },
  at: Date,
  audit: { actor: string; action: 'revoked' | 'rotated'; details: Record<string, unknown> },
): Promise<void> {
  const db = drizzle(tx);
  const set = { revokedAt: at, updatedAt: at };
  if (key.tenantId === null) {
    await db.update(operatorKeys).set(set).where(eq(operatorKeys.id, key.id));
  } else {
    await db.update(apiKeys).set(set).where(eq(apiKeys.id, key.id));
  }
  await db.insert(auditLog).values({
    id: uuidv7(),
    tenantId: key.tenantId,
    actor: audit.actor,
    action: `${key.tenantId === null ? 'operator_key' : 'api_key'}.${audit.action}`,
    subject: key.id,
    details: audit.details,
  });
  // Delivered at the commit, to every process's key cache (never when the transaction fails).
  await tx.query('SELECT pg_notify($1, $2)', [keysChannel, key.id]);
}
