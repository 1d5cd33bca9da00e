import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture } from '../support/api.js';
import type { Outcome } from './support/isolation-probe.js';
import { fillPartitions, seedTenant, sqlStateOf, tenantTables } from './support/isolation-data.js';
import type { SeededTenant } from './support/isolation-data.js';
import { tally } from './support/tally.js';

// Item 5 of issue 9: every non-owner role tries to change or remove what game.events,
// admin.audit_log and analytics.events hold, on the parents and on every partition (the default ones included), and
// to switch the guards off: ALTER TABLE … DISABLE TRIGGER in every form, replica mode, dropping
// or replacing the trigger function, detaching or dropping a partition, upserts and MERGE.
// test/integration/append-only covers UPDATE, DELETE and TRUNCATE of the parents by every role
// and of the partitions by the owner; this file covers the rest. Every attempt runs in a
// transaction that is rolled back; one that succeeds has its effect measured first.

const roles = ['agate_app', 'agate_analyst', 'agate_maintenance'] as const;
const appendOnly = ['game.events', 'admin.audit_log', 'analytics.events'] as const;

let api: ApiFixture;
let tenant: SeededTenant;
/** Every append-only table: the parents and each of their partitions. */
let targets: { name: string; parent: string | null; column: string }[];
let attempts = 0;
let refusals = 0;
let changed = 0;

/** What the guards and the rows are: compared before and after every attempt, in its transaction. */
const stateSql = `
  SELECT (SELECT md5(string_agg(e::text, '|' ORDER BY e::text)) FROM game.events e) AS events,
         (SELECT md5(string_agg(l::text, '|' ORDER BY l::text)) FROM admin.audit_log l) AS audit,
         (SELECT md5(string_agg(a::text, '|' ORDER BY a::text)) FROM analytics.events a) AS analytics,
         (SELECT string_agg(format('%s.%s=%s', t.tgrelid::regclass, t.tgname, t.tgenabled), ',' ORDER BY 1)
            FROM pg_trigger t WHERE t.tgname LIKE 'refuse_%') AS triggers,
         (SELECT md5(prosrc) || pg_get_userbyid(proowner) FROM pg_proc
           WHERE oid = 'admin.refuse_change'::regproc) AS guard,
         (SELECT string_agg(c.oid::regclass || ':' || pg_get_userbyid(c.relowner) || ':' || c.relispartition, ',' ORDER BY 1)
            FROM pg_class c WHERE c.relname ~ '^(events|audit_log)' AND c.relkind IN ('r', 'p')) AS tables`;

type State = Record<string, string | null>;

/**
 * Runs `statement` as `role` in the tenant's context and rolls back. A statement that succeeds
 * has its effect read back first, as the owner in the same transaction (RESET ROLE).
 */
async function attempt(
  role: string | null,
  statement: string,
): Promise<Outcome & { after?: State }> {
  const client = await api.db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      "SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)",
      [role, tenant.id],
    );
    let rowCount: number;
    try {
      rowCount = (await client.query(statement)).rowCount ?? 0;
    } catch (error) {
      return { ok: false, code: sqlStateOf(error) ?? 'no SQLSTATE' };
    }
    await client.query('RESET ROLE');
    const after = await client
      .query<State>(stateSql)
      .then((r) => r.rows[0] ?? {})
      .catch((error: unknown) => ({ unreadable: sqlStateOf(error) ?? 'no SQLSTATE' }));
    return { ok: true, rows: [], rowCount, after };
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

async function stateNow(): Promise<State> {
  return (await api.db.pool.query<State>(stateSql)).rows[0] ?? {};
}

/** Records one attempt: it must fail with an error and change nothing. */
async function mustRefuse(role: string, statement: string, before: State): Promise<string> {
  attempts += 1;
  const outcome = await attempt(role, statement);
  if (outcome.ok) {
    const guards = JSON.stringify(outcome.after) === JSON.stringify(before) ? 0 : 1;
    changed += Math.max(outcome.rowCount, guards);
    expect.fail(
      `${role}: ${statement} was not refused (${outcome.rowCount} rows, guards ${guards ? 'changed' : 'kept'})`,
    );
  }
  refusals += 1;
  return outcome.code;
}

beforeAll(async () => {
  api = await createApiFixture();
  tenant = await seedTenant(api, 'append-only');
  const tables = await tenantTables(api.db.pool);
  await fillPartitions(api.db.pool, tables, tenant);
  targets = tables
    .filter((t) => appendOnly.some((p) => t.name === p || t.parent === p))
    .map((t) => ({
      name: t.name,
      parent: t.parent,
      column: (t.parent ?? t.name) === 'admin.audit_log' ? 'action' : 'event_type',
    }));
  // More rows through the append path, so the parents' current partitions hold real events.
  const session = await api.agate.store.createSession({ tenantId: tenant.id, rules: 'tiny' });
  await api.agate.store.appendEvents({
    tenantId: tenant.id,
    sessionId: session.id,
    events: [inc(1), inc(2)],
  });
});
afterAll(async () => {
  tally(
    { section: 'append-only', what: 'change attempts by non-owner roles', value: attempts },
    { section: 'append-only', what: 'refusals', value: refusals },
    { section: 'append-only', what: 'rows changed', value: changed, mustBeZero: true },
  );
  await api?.close();
});

function rowStatements(t: { name: string; parent: string | null; column: string }): string[] {
  const only = t.parent === null ? ` ONLY` : '';
  return [
    `UPDATE ${t.name} SET ${t.column} = 'rewritten'`,
    `UPDATE ${t.name} SET tenant_id = tenant_id WHERE tenant_id = '${tenant.id}'`,
    `DELETE FROM ${t.name}`,
    `DELETE FROM ${t.name} WHERE tenant_id = '${tenant.id}'`,
    `TRUNCATE ${t.name}`,
    `TRUNCATE${only} ${t.name} CASCADE`,
    `MERGE INTO ${t.name} d USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE`,
    `MERGE INTO ${t.name} d USING (SELECT 1) s ON true WHEN MATCHED THEN UPDATE SET ${t.column} = 'x'`,
    // An upsert onto a stored row is an UPDATE in disguise.
    `INSERT INTO ${t.name} SELECT * FROM ${t.name} LIMIT 1 ON CONFLICT (${conflictKey(t)}) DO UPDATE SET ${t.column} = 'rewritten'`,
  ];
}

function conflictKey(t: { name: string; parent: string | null }): string {
  return (t.parent ?? t.name) === 'admin.audit_log'
    ? 'id, occurred_at'
    : 'session_id, sequence, server_time';
}

function guardStatements(t: { name: string; parent: string | null }): string[] {
  const statements = [
    `ALTER TABLE ${t.name} DISABLE TRIGGER ALL`,
    `ALTER TABLE ${t.name} DISABLE TRIGGER USER`,
    `ALTER TABLE ${t.name} DISABLE TRIGGER refuse_update_delete`,
    `ALTER TABLE ${t.name} DISABLE TRIGGER refuse_truncate`,
    `ALTER TABLE ${t.name} ENABLE REPLICA TRIGGER refuse_update_delete`,
    `ALTER TABLE ${t.name} ENABLE REPLICA TRIGGER refuse_truncate`,
    `DROP TRIGGER refuse_update_delete ON ${t.name}`,
    `DROP TRIGGER refuse_truncate ON ${t.name}`,
    `CREATE RULE no_delete AS ON DELETE TO ${t.name} DO INSTEAD NOTHING`,
    `ALTER TABLE ${t.name} OWNER TO CURRENT_USER`,
    `ALTER TABLE ${t.name} RENAME TO renamed_${t.name.replace('.', '_')}`,
  ];
  if (t.parent !== null) {
    statements.push(`ALTER TABLE ${t.parent} DETACH PARTITION ${t.name}`, `DROP TABLE ${t.name}`);
  } else {
    statements.push(`DROP TABLE ${t.name} CASCADE`);
  }
  return statements;
}

const globalStatements = [
  'SET LOCAL session_replication_role = replica',
  `SELECT set_config('session_replication_role', 'replica', true)`,
  `CREATE OR REPLACE FUNCTION admin.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$`,
  'ALTER FUNCTION admin.refuse_change() OWNER TO CURRENT_USER',
  'ALTER FUNCTION admin.refuse_change() RENAME TO refuse_nothing',
  'DROP FUNCTION admin.refuse_change() CASCADE',
  'ALTER FUNCTION admin.refuse_change() SET search_path = public',
];

describe('append-only, against every non-owner role', () => {
  it('finds the parents and every partition, each holding rows', async () => {
    expect(
      targets
        .filter((t) => t.parent === null)
        .map((t) => t.name)
        .sort(),
    ).toEqual([...appendOnly].sort());
    expect(targets.filter((t) => t.name.endsWith('_default'))).toHaveLength(3);
    expect(targets.length).toBeGreaterThanOrEqual(18);
    for (const t of targets) {
      const n = await api.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.name}`);
      expect(n.rows[0]?.n, t.name).toBeGreaterThan(0);
    }
  });

  it.each(roles)(
    'refuses UPDATE, DELETE, TRUNCATE and MERGE by %s on every partition and parent',
    async (role) => {
      const before = await stateNow();
      for (const t of targets) {
        for (const statement of rowStatements(t)) {
          expect(await mustRefuse(role, statement, before), `${role}: ${statement}`).toMatch(
            /^(42501|AG001)$/,
          );
        }
      }
      expect(await stateNow()).toEqual(before);
    },
  );

  it.each(roles)('refuses %s every way of switching the guards off', async (role) => {
    const before = await stateNow();
    for (const t of targets) {
      for (const statement of guardStatements(t)) {
        expect(await mustRefuse(role, statement, before), `${role}: ${statement}`).toBe('42501');
      }
    }
    for (const statement of globalStatements) {
      expect(await mustRefuse(role, statement, before), `${role}: ${statement}`).toBe('42501');
    }
    expect(await stateNow()).toEqual(before);
  });

  it('measures what the owner, who may, would change: the probe sees a guard or a row go', async () => {
    const before = await stateNow();
    for (const statement of [
      'ALTER TABLE game.events DISABLE TRIGGER refuse_update_delete',
      'ALTER TABLE admin.audit_log_default DISABLE TRIGGER refuse_truncate; TRUNCATE admin.audit_log_default',
    ]) {
      const outcome = await attempt(null, statement);
      expect(outcome.ok, statement).toBe(true);
      expect(outcome.after, statement).not.toEqual(before);
    }
    expect(await stateNow()).toEqual(before);
  });
});
