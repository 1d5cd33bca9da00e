import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintainPartitions } from '../../partitions/index.js';
import { withTenant } from '../../src/db/index.js';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture } from '../support/api.js';
import { countOf, probe, probeOn, tenantActors } from './support/isolation-probe.js';
import type { Actor, Outcome } from './support/isolation-probe.js';
import {
  fillPartitions,
  forgedRow,
  ownerCount,
  seedTenant,
  tenantDigest,
  tenantTables,
} from './support/isolation-data.js';
import type { SeededTenant, TenantTable } from './support/isolation-data.js';
import { tally } from './support/tally.js';

// Item 4 of issue 9, in the database: every tenant-scoped table and partition the catalog holds,
// attacked by every tenant role and by the app's own path (withTenant on the test pool, whose
// login is a superuser, as a careless DATABASE_URL would be). Tenant A is the victim, B the
// attacker. Every statement runs in a transaction that is rolled back, so an attack that
// succeeded is measured (its rows) rather than left behind. test/integration/tenant-isolation
// covers the basic cases for the seven parents; this battery adds every partition, the forged
// writes, the SECURITY DEFINER functions and the connection hygiene.

let api: ApiFixture;
let a: SeededTenant;
let b: SeededTenant;
let tables: TenantTable[];
let actors: Actor[];
let attempts = 0;
let foreignSeen = 0;
let foreignWritten = 0;

const refused = (o: Outcome) => !o.ok && o.code === '42501';
const parents = () => tables.filter((t) => t.parent === null);
const partitions = () => tables.filter((t) => t.parent !== null);

/** Records an attempt that must be refused (42501) or answer no row of tenant A. */
function hold(what: string, outcome: Outcome, foreign: number): void {
  attempts += 1;
  foreignSeen += foreign;
  expect(outcome.ok || refused(outcome), `${what}: ${JSON.stringify(outcome)}`).toBe(true);
  expect(foreign, what).toBe(0);
}

/** Records a write of tenant A's rows that must be refused; a success is measured, then fails. */
function refuse(what: string, outcome: Outcome): void {
  attempts += 1;
  if (outcome.ok) foreignWritten += Math.max(outcome.rowCount, 1);
  expect(outcome.ok ? `${outcome.rowCount} rows written` : outcome.code, what).toBe('42501');
}

beforeAll(async () => {
  api = await createApiFixture();
  a = await seedTenant(api, 'a');
  b = await seedTenant(api, 'b');
  // A month past retention (the clock a month ahead) moves to archive.events: attacked too.
  const now = new Date();
  const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 15));
  await maintainPartitions(api.db.url, { now: nextMonth, retentionMonths: 1 });
  tables = await tenantTables(api.db.pool);
  await fillPartitions(api.db.pool, tables, a);
  await fillPartitions(api.db.pool, tables, b);
  actors = tenantActors(api.db.pool);
});
afterAll(async () => {
  tally(
    { section: 'isolation', what: 'isolation attempts', value: attempts },
    {
      section: 'isolation',
      what: 'rows of another tenant seen',
      value: foreignSeen,
      mustBeZero: true,
    },
    {
      section: 'isolation',
      what: 'rows written into another tenant',
      value: foreignWritten,
      mustBeZero: true,
    },
  );
  await api?.close();
});

describe('the tenant isolation battery, in the database', () => {
  it('finds every tenant-scoped table and partition, with rows of both tenants in each', async () => {
    expect(parents().map((t) => t.name)).toEqual(
      expect.arrayContaining(['tenants', 'api_keys', 'players', 'game.sessions', 'game.events']),
    );
    expect(parents().map((t) => t.name)).toEqual(
      expect.arrayContaining(['game.snapshots', 'admin.audit_log']),
    );
    expect(partitions().filter((t) => t.name.endsWith('_default'))).toHaveLength(3);
    for (const table of tables) {
      for (const tenant of [a, b]) {
        expect(await ownerCount(api.db.pool, table, tenant.id), table.name).toBeGreaterThan(0);
      }
    }
    const guarded = await api.db.pool.query<{ name: string; rls: boolean; forced: boolean }>(
      `SELECT oid::regclass::text AS name, relrowsecurity AS rls, relforcerowsecurity AS forced
         FROM pg_class WHERE oid = ANY($1::regclass[])`,
      [parents().map((t) => t.name)],
    );
    for (const row of guarded.rows)
      expect([row.name, row.rls, row.forced]).toEqual([row.name, true, true]);
    const login = await api.db.pool.query<{ su: boolean }>(
      'SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user',
    );
    expect(login.rows[0]?.su, 'the battery runs on a superuser DATABASE_URL').toBe(true);
  });

  it('shows no rows to any role when no tenant is set, on a fresh connection or after a reset', async () => {
    // A fresh connection has never set app.tenant_id (NULL); after a local set ended it is ''.
    const fresh = new pg.Client({ connectionString: api.db.url });
    await fresh.connect();
    try {
      for (const role of ['agate_app', 'agate_analyst']) {
        for (const table of tables) {
          const sql = `SELECT count(*)::int AS n FROM ${table.name}`;
          const unset = await probeOn(fresh, role, null, sql);
          hold(`${role} on ${table.name}, never set`, unset, countOf(unset, 'n'));
        }
      }
      for (const role of ['agate_app', 'agate_analyst']) {
        for (const table of tables) {
          const sql = `SELECT count(*)::int AS n FROM ${table.name}`;
          const empty = await probeOn(fresh, role, '', sql);
          hold(`${role} on ${table.name}, set to ''`, empty, countOf(empty, 'n'));
        }
      }
    } finally {
      await fresh.end();
    }
    for (const tenantId of [undefined, '', ' ', 'null', `${a.id} `, `${a.id}\n`, `{${a.id}}`]) {
      attempts += 1;
      let ran = false;
      // withTenant throws before it returns a promise: the work never runs, no query is sent.
      const refusal = await Promise.resolve()
        .then(() =>
          withTenant(api.db.pool, { tenantId: tenantId as string }, () => {
            ran = true;
            return Promise.resolve();
          }),
        )
        .catch((error: { code?: string }) => error.code);
      expect([JSON.stringify(tenantId), refusal, ran]).toEqual([
        JSON.stringify(tenantId),
        'tenant_required',
        false,
      ]);
    }
  });

  it("shows none of tenant A's rows to any actor set to tenant B, and all of them to A", async () => {
    for (const actor of actors) {
      for (const table of tables) {
        const sql = `SELECT count(*) FILTER (WHERE ${table.column} = $1)::int AS a,
                            count(*) FILTER (WHERE ${table.column} IS DISTINCT FROM $2)::int AS other
                       FROM ${table.name}`;
        const asB = await actor.run(b.id, sql, [a.id, b.id]);
        const what = `${actor.name} as B on ${table.name}`;
        hold(what, asB, countOf(asB, 'a') + countOf(asB, 'other'));
        // The control: where the role may read, tenant A's own context sees all of A's rows.
        const asA = await actor.run(a.id, sql, [a.id, a.id]);
        if (asA.ok) {
          expect(countOf(asA, 'a'), `${actor.name} as A on ${table.name}`).toBe(
            await ownerCount(api.db.pool, table, a.id),
          );
        }
        expect(asA.ok, `${what}: the same answer for both tenants`).toBe(asB.ok);
      }
    }
  });

  it("changes none of tenant A's rows by UPDATE or DELETE from tenant B's context", async () => {
    const before = await tenantDigest(api.db.pool, tables, a.id);
    for (const actor of actors) {
      for (const table of tables) {
        for (const sql of [
          `UPDATE ${table.name} SET ${table.column} = ${table.column} WHERE ${table.column} = $1`,
          `DELETE FROM ${table.name} WHERE ${table.column} = $1`,
        ]) {
          const outcome = await actor.run(b.id, sql, [a.id]);
          attempts += 1;
          if (outcome.ok) foreignWritten += outcome.rowCount;
          // Refused outright, or it found no row of A to change (RLS hides them all).
          expect(outcome.ok ? outcome.rowCount : 0, `${actor.name}: ${sql}`).toBe(0);
          if (!outcome.ok) expect(outcome.code, `${actor.name}: ${sql}`).toBe('42501');
        }
      }
    }
    expect(await tenantDigest(api.db.pool, tables, a.id)).toEqual(before);
  });

  it('refuses a row with a forged tenant, inserted or moved, for every actor and table', async () => {
    const grants = await api.db.pool.query<{ grant: string }>(
      `SELECT r || ' ' || t AS grant FROM unnest($1::text[]) t, unnest(ARRAY['agate_app', 'agate_analyst']) r
        WHERE has_table_privilege(r, t, 'INSERT')`,
      [tables.map((t) => t.name)],
    );
    const insertable = new Set(grants.rows.map((g) => g.grant));
    let policyRefusals = 0;
    for (const table of tables) {
      const row = await forgedRow(api.db.pool, table, a.id);
      const target = table.name;
      for (const actor of actors) {
        const insert = await actor.run(
          b.id,
          `INSERT INTO ${target} SELECT * FROM jsonb_populate_record(NULL::${target}, $1::jsonb)`,
          [row],
        );
        refuse(`${actor.name} inserts A's row into ${target} as B`, insert);
        // Where the role may insert at all, it is the policy that refuses, not a missing grant.
        if (insertable.has(`${actor.role} ${target}`)) {
          expect(insert.ok ? '' : insert.message, `${actor.name} on ${target}`).toMatch(
            /row-level security/,
          );
          policyRefusals += 1;
        }
        const move = await actor.run(
          b.id,
          `UPDATE ${target} SET ${table.column} = $1 WHERE ${table.column} = $2`,
          [a.id, b.id],
        );
        attempts += 1;
        if (move.ok) foreignWritten += move.rowCount;
        expect(
          move.ok ? `${move.rowCount} rows` : move.code,
          `${actor.name} moves B's rows of ${target} to A`,
        ).toMatch(/^(42501|AG001)$/);
      }
    }
    expect(policyRefusals).toBeGreaterThanOrEqual(10);
  });

  it('refuses or hides every partition to every role, the default ones included', async () => {
    const maintenance: Actor = {
      name: 'agate_maintenance',
      role: 'agate_maintenance',
      run: (tenantId, sql, params) =>
        probe(api.db.pool, 'agate_maintenance', tenantId, sql, params),
    };
    const roles = [...actors, maintenance];
    for (const partition of partitions()) {
      const row = await forgedRow(api.db.pool, partition, a.id);
      for (const actor of roles) {
        const read = await actor.run(
          b.id,
          `SELECT count(*) FILTER (WHERE tenant_id = $1)::int AS a FROM ${partition.name}`,
          [a.id],
        );
        hold(`${actor.name} reads ${partition.name}`, read, countOf(read, 'a'));
        refuse(
          `${actor.name} inserts into ${partition.name}`,
          await actor.run(
            b.id,
            `INSERT INTO ${partition.name} SELECT * FROM jsonb_populate_record(NULL::${partition.name}, $1::jsonb)`,
            [row],
          ),
        );
      }
    }
  });

  it("answers nothing about tenant A's session from the SECURITY DEFINER functions", async () => {
    const definers = await api.db.pool.query<{ fn: string }>(
      `SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND n.nspname IN ('public', 'game', 'admin') ORDER BY 1`,
    );
    // A new SECURITY DEFINER function crosses RLS: it must join this battery before it lands.
    expect(definers.rows.map((r) => r.fn)).toEqual([
      'admin.check_tenant_fence(uuid)',
      'admin.find_api_key(bytea)',
      'admin.find_operator_key(bytea)',
      'game.event_seeds(uuid,uuid,uuid[])',
      'game.session_head(uuid,uuid)',
      'game.session_rules(uuid,uuid)',
    ]);
    const sessions = [a.liveSession, a.endedSession, a.liveSession.toUpperCase()];
    for (const actor of actors) {
      for (const session of sessions) {
        for (const tenant of [b.id, b.id.toUpperCase(), null]) {
          const outcome = await actor.run(
            b.id,
            'SELECT count(*)::int AS n FROM game.session_rules($1, $2)',
            [tenant, session],
          );
          hold(
            `${actor.name}: session_rules(${tenant}, A's ${session})`,
            outcome,
            countOf(outcome, 'n'),
          );
          const head = await actor.run(
            b.id,
            'SELECT count(*)::int AS n FROM game.session_head($1, $2)',
            [tenant, session],
          );
          hold(`${actor.name}: session_head(${tenant}, A's ${session})`, head, countOf(head, 'n'));
          const seeds = await actor.run(
            b.id,
            'SELECT count(*)::int AS n FROM game.event_seeds($1, $2, ARRAY[$3::uuid])',
            [tenant, session, '0190a000-0000-7000-8000-00000000000b'],
          );
          hold(`${actor.name}: event_seeds(${tenant}, A's ${session})`, seeds, countOf(seeds, 'n'));
        }
      }
      // The fence check of tenant A's writes, called from B's context: A's fence lets writes
      // through (arriving), so it answers nothing, or the role may not call it at all.
      for (const tenant of [a.id, a.id.toUpperCase()]) {
        const fence = await actor.run(b.id, 'SELECT admin.check_tenant_fence($1)::text AS v', [
          tenant,
        ]);
        attempts += 1;
        expect(
          refused(fence) || (fence.ok && fence.rows.length === 1 && fence.rows[0]?.v === ''),
          `${actor.name}: check_tenant_fence(A): ${JSON.stringify(fence)}`,
        ).toBe(true);
      }
      const forgedHash = createHash('sha256')
        .update(`agk_${randomBytes(32).toString('base64url')}`)
        .digest();
      for (const hash of [forgedHash, Buffer.alloc(0), null]) {
        const outcome = await actor.run(
          b.id,
          'SELECT count(*)::int AS n FROM admin.find_api_key($1)',
          [hash],
        );
        hold(`${actor.name}: find_api_key(forged)`, outcome, countOf(outcome, 'n'));
        const operator = await actor.run(
          b.id,
          'SELECT count(*)::int AS n FROM admin.find_operator_key($1)',
          [hash],
        );
        hold(`${actor.name}: find_operator_key(forged)`, operator, countOf(operator, 'n'));
      }
    }
  });

  it('keeps public.operator_keys from every tenant role, and answers for an operator key only by its own lookup', async () => {
    const operator = await api.newOperatorKey();
    const hash = createHash('sha256').update(operator.key).digest();
    for (const actor of actors) {
      const read = await actor.run(b.id, 'SELECT count(*)::int AS n FROM public.operator_keys');
      attempts += 1;
      expect(refused(read), `${actor.name} reads operator_keys: ${JSON.stringify(read)}`).toBe(
        true,
      );
      for (const sql of [
        'UPDATE public.operator_keys SET revoked_at = NULL',
        'DELETE FROM public.operator_keys',
        `INSERT INTO public.operator_keys (id, key_hash) VALUES ('${b.id}', '\\x00')`,
      ]) {
        refuse(`${actor.name}: ${sql}`, await actor.run(b.id, sql));
      }
      const asTenantKey = await actor.run(
        b.id,
        'SELECT count(*)::int AS n FROM admin.find_api_key($1)',
        [hash],
      );
      hold(`${actor.name}: find_api_key(operator key)`, asTenantKey, countOf(asTenantKey, 'n'));
      const found = await actor.run(b.id, 'SELECT id FROM admin.find_operator_key($1)', [hash]);
      expect(found).toMatchObject({ ok: true, rows: [{ id: operator.id }] });
    }
  });

  it("appends nothing to tenant A's session through game.append_events from tenant B", async () => {
    const before = await tenantDigest(api.db.pool, tables, a.id);
    const events = JSON.stringify([
      {
        eventId: '0190a000-0000-7000-8000-00000000000a',
        type: 'counter.incremented',
        version: 1,
        data: { by: 1 },
        clientTime: null,
        contentHash: '00',
      },
    ]);
    for (const session of [a.liveSession, a.liveSession.toUpperCase()]) {
      const outcome = await probe(
        api.db.pool,
        'agate_app',
        b.id,
        'SELECT outcome FROM game.append_events($1, $2, NULL, $3::jsonb, 1000, $$library$$)',
        [b.id, session, events],
      );
      attempts += 1;
      expect(outcome).toMatchObject({ ok: true, rows: [{ outcome: 'session_not_found' }] });
    }
    expect(await tenantDigest(api.db.pool, tables, a.id)).toEqual(before);
  });

  it("leaves neither a role nor a tenant on the pool's idle connections", async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => api.db.pool.connect()));
    try {
      for (const client of clients) {
        const r = await client.query<{ user: string; session: string; tenant: string | null }>(
          "SELECT current_user AS user, session_user AS session, current_setting('app.tenant_id', true) AS tenant",
        );
        const row = r.rows[0];
        attempts += 1;
        expect([row?.user, row?.tenant ?? '']).toEqual([row?.session, '']);
      }
    } finally {
      for (const client of clients) client.release();
    }
  });
});
