import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createServer } from '../../src/api/index.js';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { archiveGateV1, createGameCatalog } from '../../src/game/index.js';
import { createKey, createOperatorKey } from '../../src/keys/index.js';
import { abortMove, moveTenant } from '../../src/moves/index.js';
import type { MoveProgress } from '../../src/moves/index.js';
import { createPlacementRouter } from '../../src/placements/index.js';
import type { PlacementRouter, PlacementStore } from '../../src/placements/index.js';
import { createPlayer } from '../../src/players/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { deleteTenant } from '../../src/tenants/index.js';
import type { DeleteStep, DeleteTenantReport } from '../../src/tenants/index.js';
import { inc } from '../support/api.js';
import { startPostgres } from '../support/pg-servers.js';
import type { PgServer } from '../support/pg-servers.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyRules } from '../support/tiny-rules.js';

// Spawns the built binary: `npm run build` first.

const games = createGameCatalog([tinyRules, archiveGateV1]);

let control: TestDatabase;
let server: PgServer;
let eu1Pool: Pool;
let controlAgate: Agate;
let eu1Agate: Agate;
let router: PlacementRouter<Agate>;
let app: ReturnType<typeof createServer>;
let operatorKey: string;

const env = () => ({ DATABASE_URL: control.url, AGATE_DATABASE_URL_EU1: server.url('agate') });
const cli = (args: string[]) => runCli(args, env());

type Reply = { status: number; json: Record<string, unknown> };

async function call(method: 'GET' | 'POST', url: string, key: string, body?: object) {
  const raw = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  return { status: raw.statusCode, json: JSON.parse(raw.body) as Record<string, unknown> };
}

type Tenant = {
  id: string;
  name: string;
  placement: string;
  key: string;
  analystKey: string;
  sessions: string[];
};

/** A tenant with keys, a player, two played sessions (replayed: audited), derived rows. */
async function populated(placement: string, label: string): Promise<Tenant> {
  const name = `${label} ${uuidv7()}`;
  const created: Reply = await call('POST', '/v1/tenants', operatorKey, { name, placement });
  expect(created.status).toBe(201);
  const id = created.json.id as string;
  const key = await createKey(control.pool, { tenantId: id, role: 'game_server', actor: 'test' });
  const analyst = await createKey(control.pool, { tenantId: id, role: 'analyst', actor: 'test' });
  const agate = placement === 'shared' ? controlAgate : eu1Agate;
  const player = await createPlayer(agate.pool, {
    tenantId: id,
    email: `p${uuidv7().slice(-8)}@example.com`,
  });
  const sessions: string[] = [];
  for (const playerId of [player.id, undefined]) {
    const session = await agate.store.createSession({
      tenantId: id,
      rules: 'tiny',
      seed: `delete-${uuidv7()}`,
      playerId,
    });
    const events = Array.from({ length: 60 }, (_, i) => inc(i));
    expect(
      (await agate.store.appendEvents({ tenantId: id, sessionId: session.id, events })).ok,
    ).toBe(true);
    sessions.push(session.id);
  }
  await agate.idle();
  for (const sessionId of sessions) {
    const replayed = await call('GET', `/v1/sessions/${sessionId}/replay?verify=true`, analyst.key);
    expect(replayed.json).toMatchObject({ sequence: 60, verified: true });
  }
  return { id, name, placement, key: key.key, analystKey: analyst.key, sessions };
}

/**
 * Every row of the tenant in every table of every schema of both databases that has a tenant_id
 * column (partitions through their parents), and its public.tenants rows; the tombstones aside.
 * Keyed `<database>:<table>`, only where rows are found.
 */
async function scan(tenantId: string): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const [where, pool] of [
    ['control', control.pool],
    ['eu1', eu1Pool],
  ] as const) {
    const tables = await pool.query<{ name: string }>(
      `SELECT format('%I.%I', c.table_schema, c.table_name) AS name
         FROM information_schema.columns c
         JOIN pg_class k ON k.oid = format('%I.%I', c.table_schema, c.table_name)::regclass
        WHERE c.column_name = 'tenant_id' AND k.relkind IN ('r', 'p') AND NOT k.relispartition
          AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
          AND (c.table_schema, c.table_name) <> ('admin', 'tenant_tombstones')`,
    );
    expect(tables.rows.length).toBeGreaterThanOrEqual(19);
    const queries = [
      ...tables.rows.map((t) => [
        t.name,
        `SELECT count(*)::int AS n FROM ${t.name} WHERE tenant_id = $1`,
      ]),
      ['public.tenants', 'SELECT count(*)::int AS n FROM public.tenants WHERE id = $1'],
    ];
    for (const [table, sql] of queries) {
      const r = await pool.query<{ n: number }>(sql ?? '', [tenantId]);
      const n = r.rows[0]?.n ?? 0;
      if (n > 0) found[`${where}:${table}`] = n;
    }
  }
  return found;
}

/** The scan's counts summed over the databases, by table. */
function byTable(found: Record<string, number>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const [key, n] of Object.entries(found)) {
    const table = key.slice(key.indexOf(':') + 1);
    total[table] = (total[table] ?? 0) + n;
  }
  return total;
}

const nonZero = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));

async function tombstoneOf(tenantId: string) {
  const r = await control.pool.query<{
    name: string;
    placement: string;
    deleted_by: string;
    deleted_at: Date | null;
    counts: Record<string, number>;
  }>('SELECT * FROM admin.tenant_tombstones WHERE tenant_id = $1', [tenantId]);
  return r.rows[0];
}

const confirmArgs = (t: Tenant) => ['--confirm', t.id, '--confirm-name', t.name];

/** Polls (bounded) until the key is refused, as a server's key cache drops it. */
async function expectRefused(key: string, sessionId: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = (await call('GET', `/v1/sessions/${sessionId}`, key)).status;
    if (status === 401) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(status).toBe(401);
}

beforeAll(async () => {
  control = await createTestDatabase();
  server = await startPostgres({ name: 'tenant-delete' });
  await server.createDatabase('agate');
  const migrated = await runCli(['migrate', '--json'], env());
  expect(migrated.stderr).toBe('');
  expect(migrated.code).toBe(0);
  eu1Pool = createPool({ connectionString: server.url('agate'), max: 6 });
  controlAgate = createAgate({ pool: control.pool, games });
  eu1Agate = createAgate({ pool: eu1Pool, games });
  router = createPlacementRouter({
    control: controlAgate,
    databases: new Map([['eu1', eu1Agate]]),
  });
  app = createServer({
    agate: controlAgate,
    placements: router,
    logger: pino({ level: 'silent' }),
    rateLimit: null,
  });
  await app.ready();
  operatorKey = (await createOperatorKey(control.pool, { actor: 'test' })).key;
}, 120_000);

afterAll(async () => {
  await app.close();
  await router.close();
  await controlAgate.close();
  await eu1Pool.end();
  await server.stop();
  await control.drop();
});

describe.each(['shared', 'database:eu1'])('agate tenants delete of a tenant on %s', (placement) => {
  it('removes every row of it in every database, keeps a tombstone, and leaves its neighbour whole', async () => {
    const victim = await populated(placement, 'victim');
    const neighbour = await populated(placement, 'neighbour');

    // Its export first holds everything it owns.
    const exported = await cli(['tenants', 'export', victim.id]);
    expect(exported.code).toBe(0);
    const lines = exported.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string });
    const kinds = new Set(lines.map((l) => l.kind));
    for (const kind of [
      'tenant',
      'api_key',
      'player',
      'session',
      'event',
      'snapshot',
      'audit_entry',
      'consumer',
    ]) {
      expect(kinds.has(kind)).toBe(true);
    }
    expect(lines.filter((l) => l.kind === 'event')).toHaveLength(120);

    const before = await scan(victim.id);
    const neighbourBefore = await scan(neighbour.id);
    for (const table of [
      'game.sessions',
      'game.events',
      'game.snapshots',
      'public.players',
      'analytics.events',
      'admin.audit_log',
      'feed.consumers',
      'public.api_keys',
      'public.tenants',
    ]) {
      expect(byTable(before)[table]).toBeGreaterThan(0);
    }

    const r = await cli(['tenants', 'delete', victim.id, ...confirmArgs(victim), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as DeleteTenantReport & { deletedAt: string };
    expect(report).toMatchObject({
      tenantId: victim.id,
      name: victim.name,
      placement,
      deletedBy: 'cli',
      alreadyDeleted: false,
    });
    // Every row the scan found went, counted table by table.
    expect(nonZero(report.removed)).toEqual(byTable(before));

    expect(await scan(victim.id)).toEqual({});
    const tombstone = await tombstoneOf(victim.id);
    expect(tombstone).toMatchObject({ name: victim.name, placement, deleted_by: 'cli' });
    expect(tombstone?.deleted_at?.toISOString()).toBe(report.deletedAt);
    const audited = await control.pool.query<{ action: string }>(
      `SELECT action FROM admin.audit_log WHERE tenant_id IS NULL AND subject = $1 ORDER BY occurred_at, id`,
      [victim.id],
    );
    expect(audited.rows.map((row) => row.action)).toEqual([
      'tenant.delete_requested',
      'tenant.deleted',
    ]);

    // Its key no longer works; its neighbour's rows are all there and still verify.
    expect(await scan(neighbour.id)).toEqual(neighbourBefore);
    await expectRefused(victim.key, victim.sessions[0] ?? '');
    for (const sessionId of neighbour.sessions) {
      const replayed = await call(
        'GET',
        `/v1/sessions/${sessionId}/replay?verify=true`,
        neighbour.analystKey,
      );
      expect(replayed.status).toBe(200);
      expect(replayed.json).toMatchObject({ sequence: 60, verified: true, divergences: [] });
    }
    const listed = await cli(['tenants', 'list', '--json']);
    const ids = (JSON.parse(listed.stdout) as { tenants: { id: string }[] }).tenants.map(
      (t) => t.id,
    );
    expect(ids).toContain(neighbour.id);
    expect(ids).not.toContain(victim.id);
    const tombstones = await cli(['tenants', 'tombstones', '--json']);
    expect(
      (JSON.parse(tombstones.stdout) as { tombstones: { tenantId: string }[] }).tombstones.map(
        (t) => t.tenantId,
      ),
    ).toContain(victim.id);

    // A rerun says what the tombstone says, and changes nothing.
    const neighbourNow = await scan(neighbour.id);
    const again = await cli(['tenants', 'delete', victim.id, ...confirmArgs(victim), '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ ...report, alreadyDeleted: true });
    expect(await scan(neighbour.id)).toEqual(neighbourNow);
  }, 120_000);
});

describe('agate tenants delete, killed and refused', () => {
  it('completes when rerun after a kill at each step, refusing the tenant’s writes from the first', async () => {
    for (const killed of [
      'fenced',
      'removed',
      'forgotten',
    ] as const satisfies readonly DeleteStep[]) {
      const victim = await populated('database:eu1', `killed at ${killed}`);
      const neighbour = await populated('database:eu1', `beside ${killed}`);
      const before = byTable(await scan(victim.id));
      const killAt = (step: DeleteStep) => {
        if (step === killed) throw new Error(`killed at ${step}`);
      };
      const input = {
        tenantId: victim.id,
        router,
        actor: 'test',
        confirm: { tenantId: victim.id, name: victim.name },
      };
      await expect(deleteTenant({ ...input, onStep: killAt })).rejects.toThrow(
        `killed at ${killed}`,
      );
      if (killed === 'fenced') {
        // Its writes are refused from the first step on.
        const refused = await call(
          'POST',
          `/v1/sessions/${victim.sessions[0]}/events`,
          victim.key,
          {
            events: [inc(1)],
          },
        );
        expect(refused.status).toBe(401);
        expect(refused.json.code).toBe('tenant_not_found');
        expect(refused.json.detail).toMatch(/being deleted/);
        expect((await tombstoneOf(victim.id))?.deleted_at).toBeNull();
        // The append-only guards let no row of another tenant go, whoever is being removed.
        for (const removing of [victim.id, neighbour.id]) {
          const client = await eu1Pool.connect();
          try {
            await client.query('BEGIN');
            await client.query(`SELECT set_config('agate.removing_tenant', $1, true)`, [removing]);
            await expect(
              client.query('DELETE FROM game.events WHERE tenant_id = $1', [neighbour.id]),
            ).rejects.toThrow(/append-only/);
            await client.query('ROLLBACK');
          } finally {
            client.release();
          }
        }
      }
      const report = await deleteTenant(input);
      expect(report.alreadyDeleted).toBe(killed === 'forgotten');
      expect(await scan(victim.id)).toEqual({});
      expect(nonZero(report.removed)).toEqual(before);
      expect((await tombstoneOf(victim.id))?.deleted_at).toBeInstanceOf(Date);
      expect(byTable(await scan(neighbour.id))).toMatchObject({ 'game.events': 120 });
    }
  }, 180_000);

  it('refuses an unknown tenant, a confirmation that does not match, and a tenant being moved, changing nothing', async () => {
    const tenant = await populated('shared', 'refused');
    const before = await scan(tenant.id);

    const unknown = uuidv7();
    const missing = await cli([
      'tenants',
      'delete',
      unknown,
      '--confirm',
      unknown,
      '--confirm-name',
      'x',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No tenant .*\[tenant_not_found\]/);

    const unconfirmed = await cli(['tenants', 'delete', tenant.id]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/--confirm .* --confirm-name/);
    const otherId = await cli([
      'tenants',
      'delete',
      tenant.id,
      '--confirm',
      uuidv7(),
      '--confirm-name',
      tenant.name,
    ]);
    expect(otherId.code).toBe(2);
    expect(otherId.stderr).toMatch(/--confirm must repeat the tenant id/);
    const otherName = await cli([
      'tenants',
      'delete',
      tenant.id,
      '--confirm',
      tenant.id,
      '--confirm-name',
      `${tenant.name}!`,
    ]);
    expect(otherName.code).toBe(1);
    expect(otherName.stderr).toMatch(/--confirm-name '.*'.*\[invalid_request\]/);
    expect(await scan(tenant.id)).toEqual(before);

    // A move left open (killed while copying) must be finished or rolled back first.
    await expect(
      moveTenant({
        tenantId: tenant.id,
        to: 'database:eu1',
        router,
        actor: 'test',
        onProgress: (p: MoveProgress) => {
          if (p.step === 'copy') throw new Error('killed while copying');
        },
      }),
    ).rejects.toThrow('killed while copying');
    const moving = await cli(['tenants', 'delete', tenant.id, ...confirmArgs(tenant)]);
    expect(moving.code).toBe(1);
    expect(moving.stderr).toMatch(/open move .*--abort.*\[invalid_request\]/);
    expect((await scan(tenant.id))['control:game.events']).toBe(before['control:game.events']);
    expect(await tombstoneOf(tenant.id)).toBeUndefined();

    // Rolled back, the move leaves its tenant row in eu1: the deletion finds it there too.
    await abortMove({ tenantId: tenant.id, router, actor: 'test' });
    expect((await scan(tenant.id))['eu1:public.tenants']).toBe(1);
    const deleted = await cli(['tenants', 'delete', tenant.id, ...confirmArgs(tenant)]);
    expect(deleted.stderr).toBe('');
    expect(deleted.stdout).toMatch(/^Deleted tenant .* \(refused .*, shared\)/);
    expect(await scan(tenant.id)).toEqual({});
  }, 120_000);

  it('refuses while a placement does not answer, changing nothing', async () => {
    const tenant = await populated('database:eu1', 'unreachable');
    const before = await scan(tenant.id);
    const gone = createPool({ connectionString: 'postgres://root@127.0.0.1:1/agate', max: 1 });
    const store: PlacementStore = { pool: gone, close: () => Promise.resolve() };
    const cut = createPlacementRouter<PlacementStore>({
      control: controlAgate,
      databases: new Map([['eu1', store]]),
    });
    try {
      await expect(
        deleteTenant({
          tenantId: tenant.id,
          router: cut,
          actor: 'test',
          confirm: { tenantId: tenant.id, name: tenant.name },
        }),
      ).rejects.toMatchObject({ code: 'placement_unavailable' });
    } finally {
      await gone.end();
    }
    expect(await scan(tenant.id)).toEqual(before);
    expect(await tombstoneOf(tenant.id)).toBeUndefined();
  }, 60_000);
});
