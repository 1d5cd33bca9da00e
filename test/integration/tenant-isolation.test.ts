import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { withTenant } from '../../src/db/index.js';
import type { Session } from '../../src/events/index.js';
import { allEvents, createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';

let f: StoreFixture;
let tenantA: string;
let tenantB: string;
let sessionA: Session;

const tenantTables = [
  'public.tenants',
  'public.api_keys',
  'public.players',
  'game.sessions',
  'game.events',
  'game.snapshots',
  'admin.audit_log',
];

beforeAll(async () => {
  f = await createStoreFixture();
  tenantA = await f.newTenant();
  tenantB = await f.newTenant();
  await f.db.pool.query(
    "INSERT INTO public.players (id, tenant_id, display_name) VALUES ($1, $2, 'Ada')",
    [uuidv7(), tenantA],
  );
  sessionA = await f.store.createSession({ tenantId: tenantA, rules: 'tiny' });
  await f.store.appendEvents({
    tenantId: tenantA,
    sessionId: sessionA.id,
    events: [{ type: 'counter.incremented', version: 1, data: { by: 1 } }],
  });
  await f.db.pool.query(
    `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
     VALUES ($1, $2, $3, 1, 1, '{}', '\\x00', 'manual')`,
    [uuidv7(), tenantA, sessionA.id],
  );
});
afterAll(() => f.db.drop());

describe('tenant isolation', () => {
  it("cannot read, append to or detect another tenant's session", async () => {
    const asB = { tenantId: tenantB, sessionId: sessionA.id };
    await expect(f.store.getSession(asB)).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(f.store.readEvents(asB)).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(allEvents(f.store, { tenantId: tenantB, id: sessionA.id })).rejects.toMatchObject({
      code: 'session_not_found',
    });
    const append = await f.store.appendEvents({
      ...asB,
      events: [{ type: 'counter.incremented', version: 1, data: { by: 1 } }],
    });
    const missing = await f.store.appendEvents({
      tenantId: tenantB,
      sessionId: uuidv7(),
      events: [{ type: 'counter.incremented', version: 1, data: { by: 1 } }],
    });
    const shape = (r: typeof append) => JSON.stringify(r).replaceAll(/[0-9a-f-]{36}/g, 'ID');
    expect(shape(append)).toBe(shape(missing));
    expect(append).toMatchObject({ ok: false, reason: 'session_not_found', currentSequence: null });
    const end = await f.store.endSession(asB);
    expect(end).toMatchObject({ ok: false, reason: 'session_not_found' });
    expect(
      (await f.store.getSession({ tenantId: tenantA, sessionId: sessionA.id })).lastSequence,
    ).toBe(1);
  });

  it("cannot attach another tenant's player to a session", async () => {
    const player = await f.db.pool.query<{ id: string }>(
      'SELECT id FROM public.players WHERE tenant_id = $1',
      [tenantA],
    );
    const playerId = player.rows[0]?.id ?? '';
    await expect(
      f.store.createSession({ tenantId: tenantB, rules: 'tiny', playerId }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(
      f.store.createSession({ tenantId: tenantA, rules: 'tiny', playerId }),
    ).resolves.toMatchObject({
      playerId,
    });
  });

  it.each(['agate_app', 'agate_analyst'] as const)(
    '%s sees only its tenant in every table',
    async (role) => {
      let readable = 0;
      for (const table of tenantTables) {
        const column = table === 'public.tenants' ? 'id' : 'tenant_id';
        const foreign = await withTenant(f.db.pool, { tenantId: tenantB, role }, async (tx) => {
          const r = await tx.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${table} WHERE ${column} IS DISTINCT FROM $1`,
            [tenantB],
          );
          return r.rows[0]?.n;
        }).catch((error: unknown) => (error as { code?: string }).code);
        // Either the role may not read the table at all, or it sees none of tenant A's rows.
        if (foreign === 'forbidden') continue;
        readable += 1;
        expect(foreign, table).toBe(0);
      }
      expect(readable).toBeGreaterThanOrEqual(5);
    },
  );

  it('sees no rows at all when no tenant is set, for every role and table', async () => {
    const client = await f.db.pool.connect();
    try {
      for (const role of ['agate_app', 'agate_analyst']) {
        for (const table of tenantTables) {
          await client.query('BEGIN');
          await client.query("SELECT set_config('role', $1, true)", [role]);
          const r = await client
            .query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
            .catch((error: unknown) => ({ error }));
          await client.query('ROLLBACK');
          if ('error' in r) {
            expect((r.error as { code?: string }).code, `${role} ${table}`).toBe('42501');
          } else {
            expect(r.rows[0]?.n, `${role} ${table}`).toBe(0);
          }
        }
      }
    } finally {
      client.release();
    }
  });

  it('refuses agate_app and agate_analyst any direct access to a partition', async () => {
    const partitions = await f.db.pool.query<{ name: string }>(
      `SELECT inhrelid::regclass::text AS name FROM pg_inherits
        WHERE inhparent IN ('game.events'::regclass, 'admin.audit_log'::regclass)`,
    );
    expect(partitions.rows.length).toBeGreaterThanOrEqual(12);
    for (const role of ['agate_app', 'agate_analyst'] as const) {
      for (const { name } of partitions.rows) {
        const attempt = withTenant(f.db.pool, { tenantId: tenantA, role }, (tx) =>
          tx.query(`SELECT * FROM ${name}`),
        );
        await expect(attempt, `${role} ${name}`).rejects.toMatchObject({ code: 'forbidden' });
      }
    }
  });

  it('holds when the connection itself is a superuser', async () => {
    const who = await f.db.pool.query<{ su: boolean }>(
      'SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user',
    );
    expect(who.rows[0]?.su).toBe(true);
    const raw = await f.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM game.events');
    expect(raw.rows[0]?.n).toBeGreaterThan(0);
    const scoped = await withTenant(f.db.pool, { tenantId: tenantB }, async (tx) => {
      const user = await tx.query<{ u: string }>('SELECT current_user AS u');
      const n = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM game.events');
      return { user: user.rows[0]?.u, n: n.rows[0]?.n };
    });
    expect(scoped).toEqual({ user: 'agate_app', n: 0 });
  });

  it('cannot smuggle set_config or SQL in through a tenant or session id', async () => {
    const hostile = [
      `${tenantA}', true); SELECT set_config('app.tenant_id', '${tenantA}`,
      `${tenantB}; SET app.tenant_id = '${tenantA}'`,
      `' OR 1=1 --`,
    ];
    for (const tenantId of hostile) {
      await expect(f.store.getSession({ tenantId, sessionId: sessionA.id })).rejects.toMatchObject({
        code: 'tenant_required',
      });
    }
    for (const sessionId of [`${sessionA.id}' OR '1'='1`, `${sessionA.id}; SET role postgres`]) {
      await expect(f.store.getSession({ tenantId: tenantB, sessionId })).rejects.toMatchObject({
        code: 'session_not_found',
      });
    }
  });

  it('requires a tenant for every store operation', async () => {
    for (const tenantId of ['', 'not-a-uuid', undefined as unknown as string]) {
      await expect(f.store.getSession({ tenantId, sessionId: sessionA.id })).rejects.toMatchObject({
        code: 'tenant_required',
      });
      await expect(
        f.store.appendEvents({
          tenantId,
          sessionId: sessionA.id,
          events: [{ type: 'counter.incremented', data: { by: 1 } }],
        }),
      ).rejects.toMatchObject({ code: 'tenant_required' });
      await expect(f.store.createSession({ tenantId, rules: 'tiny' })).rejects.toMatchObject({
        code: 'tenant_required',
      });
    }
  });
});
