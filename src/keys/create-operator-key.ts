import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, fromPgError, operatorKeys, withMaintenance } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { hashKey, newKeySecret } from './key-secret.js';

export type CreateOperatorKeyInput = {
  label?: string;
  /** Who creates it, for the audit log: `cli`. */
  actor: string;
};

/** The new operator key: `key` is the only copy of the secret, shown once. */
export type CreatedOperatorKey = {
  id: string;
  key: string;
  role: 'operator';
  label: string | null;
  createdAt: Date;
};

/**
 * The login (session_user, not the current role) must own the database or be a superuser: an
 * operator key acts across every tenant. The INSERT trigger of migration 0009 holds the same
 * rule for anyone who writes the table directly; this check says what to do instead.
 */
async function requireDatabaseOwner(pool: Pool): Promise<void> {
  let row: { login: string; database: string; allowed: boolean } | undefined;
  try {
    const result = await pool.query<{ login: string; database: string; allowed: boolean }>(
      `SELECT session_user::text AS login, d.datname::text AS database,
              (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user)
                OR pg_catalog.pg_has_role(session_user, d.datdba, 'MEMBER') AS allowed
         FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`,
    );
    row = result.rows[0];
  } catch (error) {
    throw fromPgError(error);
  }
  if (row?.allowed !== true) {
    throw new AgateError(
      'forbidden',
      `Only the owner of database ${row?.database ?? '?'} or a superuser may create operator keys, and login ${row?.login ?? '?'} is neither; run agate keys create --operator with a DATABASE_URL that names the database owner.`,
    );
  }
}

/** Inserts an operator key and its audit entry (no tenant) in the caller's maintenance transaction. */
export async function insertOperatorKey(
  tx: PoolClient,
  input: CreateOperatorKeyInput,
): Promise<CreatedOperatorKey> {
  const id = uuidv7();
  const key = newKeySecret('operator');
  const label = input.label ?? null;
  const db = drizzle(tx);
  const [row] = await db
    .insert(operatorKeys)
    .values({ id, keyHash: hashKey(key), label })
    .returning({ createdAt: operatorKeys.createdAt });
  await db.insert(auditLog).values({
    id: uuidv7(),
    tenantId: null,
    actor: input.actor,
    action: 'operator_key.created',
    subject: id,
    details: { label },
  });
  if (row === undefined) throw new AgateError('internal', 'The key insert returned no row.');
  return { id, key, role: 'operator', label, createdAt: row.createdAt };
}

/**
 * Creates an operator key (ADR 0014) and records it in the audit log, in one transaction as
 * agate_maintenance. Refused with `forbidden` unless the login owns the database or is a
 * superuser.
 */
export async function createOperatorKey(
  pool: Pool,
  input: CreateOperatorKeyInput,
): Promise<CreatedOperatorKey> {
  if (input.label !== undefined && (input.label.length === 0 || input.label.length > 200)) {
    throw new AgateError('invalid_request', 'A key label must be 1 to 200 characters.');
  }
  await requireDatabaseOwner(pool);
  return withMaintenance(pool, (tx) => insertOperatorKey(tx, input));
}
