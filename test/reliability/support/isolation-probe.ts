import type pg from 'pg';
import { withTenant } from '../../../src/db/index.js';
import type { Pool, TenantRole } from '../../../src/db/index.js';
import { isAgateError } from '../../../src/errors/index.js';
import { sqlStateOf } from './isolation-data.js';

/** What one statement did: its rows, or the SQLSTATE it was refused with. */
export type Outcome =
  | { ok: true; rows: Record<string, unknown>[]; rowCount: number }
  | { ok: false; code: string; message?: string };

/** Who runs a statement in a tenant's context: a role on a raw connection, or the app's path. */
export type Actor = {
  name: string;
  /** The database role its statements run as. */
  role: string;
  run(tenantId: string, sql: string, params?: unknown[]): Promise<Outcome>;
};

/**
 * Runs `sql` on `client` in a transaction as `role` (null: the login) with `app.tenant_id` set
 * to `tenant` (null: not set in this transaction), and always rolls back, so even an attack
 * that succeeds leaves nothing behind; what it did is in the outcome.
 */
export async function probeOn(
  client: pg.ClientBase,
  role: string | null,
  tenant: string | null,
  sql: string,
  params: unknown[] = [],
): Promise<Outcome> {
  await client.query('BEGIN');
  try {
    if (role !== null) await client.query("SELECT set_config('role', $1, true)", [role]);
    if (tenant !== null) {
      await client.query("SELECT set_config('app.tenant_id', $1, true)", [tenant]);
    }
    const result = await client.query<Record<string, unknown>>(sql, params);
    return { ok: true, rows: result.rows, rowCount: result.rowCount ?? 0 };
  } catch (error) {
    return { ok: false, code: sqlStateOf(error) ?? 'no SQLSTATE', message: messageOf(error) };
  } finally {
    await client.query('ROLLBACK');
  }
}

/** `probeOn` a connection of the pool. */
export async function probe(
  pool: Pool,
  role: string | null,
  tenant: string | null,
  sql: string,
  params: unknown[] = [],
): Promise<Outcome> {
  const client = await pool.connect();
  try {
    return await probeOn(client, role, tenant, sql, params);
  } finally {
    client.release();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class RolledBack extends Error {
  constructor(readonly outcome: Outcome) {
    super('rolled back by the isolation battery');
  }
}

function rolledBackIn(error: unknown): RolledBack | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth += 1) {
    if (current instanceof RolledBack) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The app's own path: withTenant on the pool's (owner or superuser) login, then rolled back. */
export async function throughWithTenant(
  pool: Pool,
  tenantId: string,
  role: TenantRole | undefined,
  sql: string,
  params: unknown[] = [],
): Promise<Outcome> {
  try {
    await withTenant(pool, { tenantId, role }, async (tx) => {
      const result = await tx.query<Record<string, unknown>>(sql, params);
      throw new RolledBack({ ok: true, rows: result.rows, rowCount: result.rowCount ?? 0 });
    });
    return { ok: false, code: 'committed' };
  } catch (error) {
    const rolledBack = rolledBackIn(error);
    if (rolledBack !== undefined) return rolledBack.outcome;
    const code = sqlStateOf(error) ?? (isAgateError(error) ? error.code : 'unknown');
    return { ok: false, code, message: messageOf(error) };
  }
}

/** agate_app and agate_analyst on a raw connection, and the owner login through withTenant. */
export function tenantActors(pool: Pool): Actor[] {
  const raw = (role: TenantRole): Actor => ({
    name: role,
    role,
    run: (tenantId, sql, params) => probe(pool, role, tenantId, sql, params),
  });
  const app = (role: TenantRole | undefined): Actor => ({
    name: `owner login via withTenant (${role ?? 'default role'})`,
    role: role ?? 'agate_app',
    run: (tenantId, sql, params) => throughWithTenant(pool, tenantId, role, sql, params),
  });
  return [raw('agate_app'), raw('agate_analyst'), app(undefined), app('agate_analyst')];
}

/** Counts the rows `outcome` returned under `column` (0 when refused). */
export function countOf(outcome: Outcome, column: string): number {
  if (!outcome.ok) return 0;
  const value = outcome.rows[0]?.[column];
  return typeof value === 'number' ? value : Number(value ?? 0);
}
