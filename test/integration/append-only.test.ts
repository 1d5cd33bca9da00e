import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createTenant } from '../../src/tenants/index.js';
import { createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';

let f: StoreFixture;
let tenantId: string;

beforeAll(async () => {
  f = await createStoreFixture();
  tenantId = await f.newTenant();
  const s = await f.store.createSession({ tenantId, rules: 'tiny' });
  await f.store.appendEvents({
    tenantId,
    sessionId: s.id,
    events: [{ type: 'counter.incremented', version: 1, data: { by: 1 } }],
  });
  await createTenant(f.db.pool, { name: 'another', actor: 'test' });
  // analytics.events is written by its feed consumer; its row is written here as the owner.
  await f.db.pool.query(
    `INSERT INTO analytics.events (tenant_id, session_id, sequence, event_id, event_type,
                                   event_version, server_time, rules, rules_version)
     SELECT tenant_id, session_id, sequence, event_id, event_type, event_version, server_time,
            'tiny', 1
       FROM game.events WHERE session_id = $1`,
    [s.id],
  );
});
afterAll(() => f.db.drop());

async function partitionsOf(parent: string): Promise<string[]> {
  const r = await f.db.pool.query<{ name: string }>(
    'SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = $1::regclass ORDER BY 1',
    [parent],
  );
  return r.rows.map((row) => row.name);
}

/** Runs one statement as `role` (null: the connection's own login, the owner) and returns its SQLSTATE. */
async function attempt(role: string | null, statement: string): Promise<string | undefined> {
  const client = await f.db.pool.connect();
  try {
    await client.query('BEGIN');
    if (role !== null) {
      await client.query(
        "SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)",
        [role, tenantId],
      );
    }
    await client.query(statement);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

const tables = ['game.events', 'admin.audit_log', 'analytics.events'];
const roles = ['agate_app', 'agate_analyst', 'agate_maintenance', null];

describe('append-only tables', () => {
  it.each(tables)(
    'refuse UPDATE, DELETE and TRUNCATE on %s for every role and the owner',
    async (table) => {
      const column = table === 'admin.audit_log' ? 'action' : 'event_type';
      for (const role of roles) {
        const label = `${role ?? 'owner'} on ${table}`;
        const update = await attempt(role, `UPDATE ${table} SET ${column} = 'x'`);
        const del = await attempt(role, `DELETE FROM ${table}`);
        const truncate = await attempt(role, `TRUNCATE ${table}`);
        // Roles lack the privilege (42501); the owner, who has it, is stopped by the triggers (AG001).
        const expected = role === null ? 'AG001' : '42501';
        expect([update, del, truncate], label).toEqual([expected, expected, expected]);
      }
    },
  );

  it.each(tables)(
    'refuse TRUNCATE, UPDATE and DELETE of every single partition of %s by the owner',
    async (table) => {
      const partitions = await partitionsOf(table);
      expect(partitions.some((p) => p.endsWith('_default'))).toBe(true);
      expect(partitions.length).toBe(6);
      let withRows = 0;
      for (const partition of partitions) {
        expect(await attempt(null, `TRUNCATE ${partition}`), partition).toBe('AG001');
        const rows = await f.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${partition}`,
        );
        // Row triggers fire per row: an empty partition has nothing to refuse.
        if ((rows.rows[0]?.n ?? 0) === 0) continue;
        withRows += 1;
        expect(await attempt(null, `DELETE FROM ${partition}`), partition).toBe('AG001');
        expect(
          await attempt(null, `UPDATE ${partition} SET tenant_id = tenant_id`),
          partition,
        ).toBe('AG001');
      }
      expect(withRows).toBeGreaterThan(0);
    },
  );

  it('tells the owner why in the error message', async () => {
    await expect(f.db.pool.query('DELETE FROM game.events')).rejects.toThrow(/append-only/);
  });

  it('still accepts appends to the audit log from the app role', async () => {
    const code = await attempt(
      'agate_app',
      `INSERT INTO admin.audit_log (id, tenant_id, actor, action) VALUES ('${uuidv7()}', '${tenantId}', 'test', 'probe')`,
    );
    expect(code).toBeUndefined();
  });
});
