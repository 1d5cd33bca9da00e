import type pg from 'pg';
import { AgateError } from '../errors/index.js';
import { fromPgError } from './pg-errors.js';

/** Roles that per-tenant work runs as. Both are subject to row-level security. */
export type TenantRole = 'agate_app' | 'agate_analyst';
const tenantRoles: readonly TenantRole[] = ['agate_app', 'agate_analyst'];

export type TenantContext = {
  tenantId: string;
  role?: TenantRole;
  /**
   * One snapshot for the whole transaction (REPEATABLE READ, READ ONLY), for reads that span
   * many statements and must agree with each other (an export). Default: READ COMMITTED.
   */
  snapshot?: boolean;
};

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidPattern.test(value);
}

/** Returns the tenant id in lower case, or throws `tenant_required`. */
export function requireTenantId(tenantId: unknown): string {
  if (!isUuid(tenantId)) {
    throw new AgateError(
      'tenant_required',
      'A tenant id (a UUID) is required for this operation; pass the tenant the API key or --tenant names.',
    );
  }
  return tenantId.toLowerCase();
}

/**
 * Runs `work` between BEGIN and COMMIT. `setup` is sent with BEGIN as one simple query (one
 * round trip, not two), so it must be built only from checked values: a role from the fixed
 * list and a tenant id that passed `requireTenantId`, never raw input.
 */
async function inTransaction<T>(
  pool: pg.Pool,
  setup: string,
  work: (tx: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw fromPgError(error);
  }
  let broken = false;
  // A checked-out client has no pool listener: a connection lost mid-transaction (a terminated
  // backend, a cut network) would emit an unhandled 'error' and take the process down. The
  // failing query rejects on its own; here the client is only marked for disposal.
  const onLost = () => {
    broken = true;
  };
  client.on('error', onLost);
  try {
    await client.query(`${begin}; ${setup}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw fromPgError(error);
  } finally {
    client.off('error', onLost);
    client.release(broken);
  }
}

/**
 * Runs `work` in one transaction as `role` (default `agate_app`) with `app.tenant_id` set locally,
 * so row-level security applies even when the pool's login is the owner or a superuser, and the
 * settings end with the transaction (safe behind a transaction-mode pooler).
 */
export function withTenant<T>(
  pool: pg.Pool,
  context: TenantContext,
  work: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const tenantId = requireTenantId(context.tenantId);
  const role = tenantRoles.find((r) => r === (context.role ?? 'agate_app'));
  if (role === undefined) {
    throw new AgateError('internal', `${String(context.role)} is not a tenant role.`);
  }
  return inTransaction(
    pool,
    `SELECT set_config('role', '${role}', true), set_config('app.tenant_id', '${tenantId}', true)`,
    work,
    context.snapshot === true ? 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY' : 'BEGIN',
  );
}

/**
 * Runs `work` in one transaction as `agate_maintenance` (BYPASSRLS). Only for the paths that must
 * cross tenants: API-key lookup, tenant creation, partition maintenance, the nightly enumeration.
 */
export function withMaintenance<T>(
  pool: pg.Pool,
  work: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, "SELECT set_config('role', 'agate_maintenance', true)", work);
}
