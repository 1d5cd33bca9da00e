import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import {
  apiKeys,
  auditLog,
  requireTenantId,
  violatedConstraint,
  withMaintenance,
} from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { hashKey, newKeySecret } from './key-secret.js';
import { apiKeyRoles } from './key-roles.js';
import type { ApiKeyRole } from './key-roles.js';
import { checkRateLimitSetting } from './rate-limit-setting.js';
import type { RateLimitSetting } from './rate-limit-setting.js';

export type CreateKeyInput = {
  tenantId: string;
  role: ApiKeyRole;
  label?: string;
  /** The key's own rate limit; absent or null inherits its tenant's, else the server's. */
  rateLimit?: RateLimitSetting | null;
  /** Who creates it, for the audit log: an admin key's id, or `cli`. */
  actor: string;
};

/** The new key: `key` is the only copy of the secret, shown once; only its hash is stored. */
export type CreatedKey = {
  id: string;
  key: string;
  tenantId: string;
  role: ApiKeyRole;
  label: string | null;
  /** The key's own rate limit; null inherits. */
  rateLimit: RateLimitSetting | null;
  createdAt: Date;
};

function checkInput(input: CreateKeyInput): {
  tenantId: string;
  rateLimit: RateLimitSetting | null;
} {
  const tenantId = requireTenantId(input.tenantId);
  if (!apiKeyRoles.includes(input.role)) {
    throw new AgateError('invalid_request', `role must be one of ${apiKeyRoles.join(', ')}.`);
  }
  const rateLimit = checkRateLimitSetting(input.rateLimit ?? null, `a new key of ${tenantId}`);
  return { tenantId, rateLimit };
}

/**
 * Inserts a key and its audit entry in the caller's transaction, which must run as
 * agate_maintenance (agate_app has no access to api_keys).
 */
export async function insertKey(tx: PoolClient, input: CreateKeyInput): Promise<CreatedKey> {
  const { tenantId, rateLimit } = checkInput(input);
  const id = uuidv7();
  const key = newKeySecret();
  const label = input.label ?? null;
  const db = drizzle(tx);
  const [row] = await db
    .insert(apiKeys)
    .values({
      id,
      tenantId,
      keyHash: hashKey(key),
      role: input.role,
      label,
      rateLimitPerSecond: rateLimit?.perSecond ?? null,
      rateLimitBurst: rateLimit?.burst ?? null,
    })
    .returning({ createdAt: apiKeys.createdAt });
  await db.insert(auditLog).values({
    id: uuidv7(),
    tenantId,
    actor: input.actor,
    action: 'api_key.created',
    subject: id,
    details: { role: input.role, label, ...(rateLimit === null ? {} : { rateLimit }) },
  });
  if (row === undefined) throw new AgateError('internal', 'The key insert returned no row.');
  return { id, key, tenantId, role: input.role, label, rateLimit, createdAt: row.createdAt };
}

/**
 * Creates an API key for a tenant and records the creation in the audit log, in one transaction
 * as agate_maintenance, so no key exists unaudited.
 */
export async function createKey(pool: Pool, input: CreateKeyInput): Promise<CreatedKey> {
  const { tenantId } = checkInput(input);
  try {
    return await withMaintenance(pool, (tx) => insertKey(tx, input));
  } catch (error) {
    if (violatedConstraint(error) === 'api_keys_tenant_id_tenants_id_fk') {
      throw new AgateError(
        'tenant_not_found',
        `Tenant ${tenantId} does not exist; create it first (agate tenants create).`,
        { cause: error },
      );
    }
    throw error;
  }
}
