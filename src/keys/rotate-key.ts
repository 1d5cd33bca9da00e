import { isUuid, withMaintenance } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { insertKey } from './create-key.js';
import { insertOperatorKey } from './create-operator-key.js';
import { dropCachedKey } from './key-cache.js';
import { lockKey, markRevoked } from './key-rows.js';
import type { KeyRole } from './key-roles.js';

export type RotateKeyInput = {
  /** The id of the live key to replace. */
  id: string;
  /** Who rotates it, for the audit log: `cli`. */
  actor: string;
};

/** The replacement: `key` is the only copy of its secret, shown once; the old key is revoked. */
export type RotatedKey = {
  id: string;
  key: string;
  role: KeyRole;
  /** Null for an operator key. */
  tenantId: string | null;
  label: string | null;
  /** The id of the key it replaces, revoked at `revokedAt`. */
  replaces: string;
  revokedAt: Date;
};

/**
 * Replaces a live key (a tenant's or an operator key) with a new secret of the same tenant, role,
 * label and own rate limit, and revokes the old one, in one transaction as agate_maintenance: there is never a
 * moment with both or neither. Audited as the new key's creation and the old key's `rotated`
 * entry (which names the new key). Undefined when no key has the id; `invalid_request` for a
 * revoked key. A new operator key needs the database owner (the trigger of migration 0009).
 */
export async function rotateKey(
  pool: Pool,
  input: RotateKeyInput,
): Promise<RotatedKey | undefined> {
  if (!isUuid(input.id)) return undefined;
  const id = input.id.toLowerCase();
  const done = await withMaintenance(pool, async (tx) => {
    const found = await lockKey(tx, id);
    if (found === undefined) return undefined;
    if (found.revokedAt !== null) {
      throw new AgateError(
        'invalid_request',
        `Key ${id} was revoked at ${found.revokedAt.toISOString()}; create a new key instead of rotating it.`,
      );
    }
    const label = found.label ?? undefined;
    const created =
      found.kind === 'operator'
        ? { ...(await insertOperatorKey(tx, { label, actor: input.actor })), tenantId: null }
        : await insertKey(tx, {
            tenantId: found.tenantId,
            role: found.role,
            label,
            rateLimit: found.rateLimit,
            actor: input.actor,
          });
    const revokedAt = new Date();
    await markRevoked(tx, { id, tenantId: created.tenantId }, revokedAt, {
      actor: input.actor,
      action: 'rotated',
      details: { replacedBy: created.id },
    });
    return {
      id: created.id,
      key: created.key,
      role: created.role,
      tenantId: created.tenantId,
      label: created.label,
      replaces: id,
      revokedAt,
    };
  });
  // This process's caches drop it at once; others hear the notification.
  if (done !== undefined) dropCachedKey(id);
  return done;
}
