// Tenants on two tiers at once (issue 19, ADR 0032): `shared` in the control plane's database and
// `database:eu1` on a PostgreSQL server of its own that this file starts. Every tenant route goes
// to the tenant's placement; a placement that stops fails only its own tenants.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { createPool, withTenant } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { createKey, createOperatorKey } from '../../src/keys/index.js';
import { createPlacementRouter } from '../../src/placements/index.js';
import type { PlacementRouter } from '../../src/placements/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { inc } from '../support/api.js';
import { startPostgres } from '../support/pg-servers.js';
import type { PgServer } from '../support/pg-servers.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { archiveGateV1, createGameCatalog } from '../../src/game/index.js';
import { tinyRules } from '../support/tiny-rules.js';

// archive-gate too: the CLI (a process of its own) runs the built-in game only.
const tinyGames = createGameCatalog([tinyRules, archiveGateV1]);

let control: TestDatabase;
let server: PgServer;
let eu1Pool: Pool;
let bare: Pool;
let controlAgate: Agate;
let eu1Agate: Agate;
let bareAgate: Agate;
let router: PlacementRouter<Agate>;
let app: ReturnType<typeof createServer>;
let operatorKey: string;

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

async function count(pool: Pool, sql: string, values: unknown[]): Promise<number> {
  const result = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values);
  return result.rows[0]?.n ?? -1;
}

async function newTenant(
  placement: string,
): Promise<{ id: string; key: string; analystKey: string }> {
  const created: Reply = await call('POST', '/v1/tenants', operatorKey, {
    name: `tenant on ${placement}`,
    placement,
  });
  expect(created.status).toBe(201);
  const id = created.json.id as string;
  const key = await createKey(control.pool, { tenantId: id, role: 'game_server', actor: 'test' });
  const analyst = await createKey(control.pool, { tenantId: id, role: 'analyst', actor: 'test' });
  return { id, key: key.key, analystKey: analyst.key };
}

async function newSession(key: string): Promise<string> {
  const created = await call('POST', '/v1/sessions', key, { rules: 'tiny' });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

beforeAll(async () => {
  control = await createTestDatabase();
  server = await startPostgres({ name: 'placement' });
  await server.createDatabase('agate');
  await server.createDatabase('bare');
  const migrated = await runCli(['migrate', '--json'], {
    DATABASE_URL: control.url,
    AGATE_DATABASE_URL_EU1: server.url('agate'),
  });
  expect(migrated.stderr).toBe('');
  expect(migrated.code).toBe(0);
  const report = JSON.parse(migrated.stdout) as {
    applied: string[];
    placements: Record<string, { applied: string[]; alreadyApplied: number }>;
  };
  // The control plane was cloned migrated; eu1 gets every migration, reported under its name.
  expect(report.applied).toEqual([]);
  expect(Object.keys(report.placements)).toEqual(['database:eu1']);
  expect(report.placements['database:eu1']?.applied.length).toBeGreaterThan(10);
  eu1Pool = createPool({ connectionString: server.url('agate'), max: 4 });
  bare = createPool({ connectionString: server.url('bare'), max: 2 });
  controlAgate = createAgate({ pool: control.pool, games: tinyGames });
  eu1Agate = createAgate({ pool: eu1Pool, games: tinyGames });
  bareAgate = createAgate({ pool: bare, games: tinyGames, consumers: false });
  router = createPlacementRouter({
    control: controlAgate,
    databases: new Map([
      ['eu1', eu1Agate],
      ['bare', bareAgate],
    ]),
  });
  app = createServer({
    agate: controlAgate,
    placements: router,
    logger: pino({ level: 'silent' }),
    rateLimit: null,
  });
  await app.ready();
  operatorKey = (await createOperatorKey(control.pool, { actor: 'test' })).key;
});

afterAll(async () => {
  await app.close();
  await router.close();
  await controlAgate.close();
  await Promise.all([eu1Pool.end(), bare.end()]);
  await server.stop();
  await control.drop();
});

describe('a tenant placed on a database server of its own', () => {
  it('is created with its row on that server and its placement in the control plane', async () => {
    const tenant = await newTenant('database:eu1');
    const placed = await control.pool.query<{ placement: string }>(
      'SELECT placement FROM admin.tenant_placements WHERE tenant_id = $1',
      [tenant.id],
    );
    expect(placed.rows).toEqual([{ placement: 'database:eu1' }]);
    expect(await count(eu1Pool, 'public.tenants WHERE id = $1', [tenant.id])).toBe(1);
    expect(await router.placementOf(tenant.id)).toBe('database:eu1');
  });

  it('appends, reads and replays on that server, and the control plane holds none of it', async () => {
    const tenant = await newTenant('database:eu1');
    const sessionId = await newSession(tenant.key);
    const events = Array.from({ length: 50 }, (_, i) => inc(i + 1));
    const appended = await call('POST', `/v1/sessions/${sessionId}/events`, tenant.key, {
      events,
    });
    expect(appended.status).toBe(201);
    expect(appended.json.lastSequence).toBe(50);
    const page = await call('GET', `/v1/sessions/${sessionId}/events?limit=1000`, tenant.key);
    expect((page.json.events as unknown[]).length).toBe(50);
    const replayed = await call(
      'GET',
      `/v1/sessions/${sessionId}/replay?verify=true`,
      tenant.analystKey,
    );
    expect(replayed.status).toBe(200);
    expect(replayed.json).toMatchObject({ sequence: 50, verified: true, divergences: [] });
    // The analyst's replay is audited where the tenant's data is.
    expect(await count(eu1Pool, 'admin.audit_log WHERE tenant_id = $1', [tenant.id])).toBe(1);
    expect(await count(eu1Pool, 'game.events WHERE session_id = $1', [sessionId])).toBe(50);
    expect(await count(control.pool, 'game.events WHERE session_id = $1', [sessionId])).toBe(0);
    expect(await count(control.pool, 'game.sessions WHERE id = $1', [sessionId])).toBe(0);
    // Derived data follows the placement's own feed: its consumers write the snapshot at 50.
    await eu1Agate.idle();
    expect(
      await count(eu1Pool, 'game.snapshots WHERE session_id = $1 AND sequence = 50', [sessionId]),
    ).toBe(1);
    expect(await count(control.pool, 'game.snapshots WHERE session_id = $1', [sessionId])).toBe(0);
  });

  it('is invisible to a shared tenant, which is invisible to it', async () => {
    const placed = await newTenant('database:eu1');
    const shared = await newTenant('shared');
    const placedSession = await newSession(placed.key);
    const sharedSession = await newSession(shared.key);
    expect(await count(control.pool, 'game.sessions WHERE id = $1', [sharedSession])).toBe(1);
    for (const [key, session] of [
      [shared.key, placedSession],
      [placed.key, sharedSession],
    ] as const) {
      const read = await call('GET', `/v1/sessions/${session}`, key);
      expect(read.status).toBe(404);
      expect(read.json.code).toBe('session_not_found');
      const append = await call('POST', `/v1/sessions/${session}/events`, key, {
        events: [inc(1)],
      });
      expect(append.status).toBe(404);
    }
    expect(await count(eu1Pool, 'game.events WHERE session_id = $1', [placedSession])).toBe(0);
    expect(await count(control.pool, 'game.events WHERE session_id = $1', [sharedSession])).toBe(0);
  });
});

describe('the CLI with placement servers configured', () => {
  const env = () => ({
    DATABASE_URL: control.url,
    AGATE_DATABASE_URL_EU1: server.url('agate'),
  });

  it('creates, lists, replays and runs the nightly job per placement', async () => {
    const created = await runCli(
      ['tenants', 'create', 'from the cli', '--placement', 'database:eu1', '--json'],
      env(),
    );
    expect(created.stderr).toBe('');
    const tenant = JSON.parse(created.stdout) as { id: string; placement: string };
    expect(tenant.placement).toBe('database:eu1');
    expect(await count(eu1Pool, 'public.tenants WHERE id = $1', [tenant.id])).toBe(1);
    const listed = await runCli(['tenants', 'list', '--json'], env());
    const all = (JSON.parse(listed.stdout) as { tenants: { id: string; placement: string }[] })
      .tenants;
    expect(all.find((t) => t.id === tenant.id)?.placement).toBe('database:eu1');

    const key = await createKey(control.pool, {
      tenantId: tenant.id,
      role: 'game_server',
      actor: 'test',
    });
    const session = await call('POST', '/v1/sessions', key.key, { rules: 'archive-gate' });
    const sessionId = session.json.id as string;
    const events = [
      { type: 'day.started', data: {} },
      { type: 'defense.purchased', data: { defense: 'training' } },
    ];
    expect(
      (await call('POST', `/v1/sessions/${sessionId}/events`, key.key, { events })).status,
    ).toBe(201);
    const replayed = await runCli(
      ['replay', sessionId, '--tenant', tenant.id, '--verify', '--json'],
      env(),
    );
    expect(replayed.stderr).toBe('');
    expect(JSON.parse(replayed.stdout)).toMatchObject({ sequence: 2, verified: true });
    // Without the server's variable the CLI cannot reach the tenant, and says which to set.
    const unplaced = await runCli(['replay', sessionId, '--tenant', tenant.id], {
      DATABASE_URL: control.url,
    });
    expect(unplaced.code).not.toBe(0);
    expect(unplaced.stderr).toMatch(/AGATE_DATABASE_URL_EU1/);

    const nightly = await runCli(['nightly', '--inline', '--json'], env());
    expect(nightly.stderr).toBe('');
    const result = JSON.parse(nightly.stdout) as {
      ran: boolean;
      placements: Record<string, { ran: boolean; summary?: { audit: { sessions: number } } }>;
    };
    expect(result.ran).toBe(true);
    expect(result.placements['database:eu1']?.ran).toBe(true);
    expect(result.placements['database:eu1']?.summary?.audit.sessions).toBeGreaterThan(0);
  });
});

describe('the tenant battery across tiers', () => {
  const tables = [
    'public.players',
    'game.sessions',
    'game.events',
    'game.snapshots',
    'analytics.events',
    'admin.audit_log',
  ];

  it('shows a tenant none of another tenant’s rows, on its own server or any other', async () => {
    const tenants = await Promise.all([
      newTenant('database:eu1'),
      newTenant('database:eu1'),
      newTenant('shared'),
    ]);
    for (const t of tenants) {
      const sessionId = await newSession(t.key);
      const events = Array.from({ length: 50 }, (_, i) => inc(i + 1));
      expect(
        (await call('POST', `/v1/sessions/${sessionId}/events`, t.key, { events })).status,
      ).toBe(201);
      expect((await call('POST', '/v1/players', t.key, { displayName: 'p' })).status).toBe(201);
    }
    await Promise.all([eu1Agate.idle(), controlAgate.idle()]);
    for (const pool of [eu1Pool, control.pool]) {
      for (const t of tenants) {
        for (const role of ['agate_app', 'agate_analyst'] as const) {
          await withTenant(pool, { tenantId: t.id, role }, async (tx) => {
            for (const table of tables) {
              const others = await tx.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM ${table} WHERE tenant_id <> $1`,
                [t.id],
              );
              expect([pool === eu1Pool ? 'eu1' : 'control', table, others.rows[0]?.n]).toEqual([
                pool === eu1Pool ? 'eu1' : 'control',
                table,
                0,
              ]);
            }
          });
        }
      }
    }
    // And each tenant's own rows are where its placement says, and nowhere else.
    for (const t of tenants) {
      const home = (await router.placementOf(t.id)) === 'shared' ? control.pool : eu1Pool;
      const away = home === eu1Pool ? control.pool : eu1Pool;
      expect(await count(home, 'game.events WHERE tenant_id = $1', [t.id])).toBe(50);
      expect(await count(away, 'game.events WHERE tenant_id = $1', [t.id])).toBe(0);
      expect(await count(home, 'public.players WHERE tenant_id = $1', [t.id])).toBe(1);
      expect(await count(away, 'public.players WHERE tenant_id = $1', [t.id])).toBe(0);
    }
  });
});

describe('the golden fixtures on a placement server', () => {
  it('import and replay to their recorded hashes, all on that server', async () => {
    const tenant = await newTenant('database:eu1');
    const imported = await runCli(
      ['fixtures', 'import', 'fixtures/archive-gate-v1', '--tenant', tenant.id, '--json'],
      { DATABASE_URL: control.url, AGATE_DATABASE_URL_EU1: server.url('agate') },
    );
    expect(imported.stderr).toBe('');
    const report = JSON.parse(imported.stdout) as {
      sessions: { matchesRecording: boolean }[];
      events: number;
    };
    expect(report.sessions).toHaveLength(25);
    expect(report.sessions.every((s) => s.matchesRecording)).toBe(true);
    expect(await count(eu1Pool, 'game.sessions WHERE tenant_id = $1', [tenant.id])).toBe(25);
    expect(await count(eu1Pool, 'game.events WHERE tenant_id = $1', [tenant.id])).toBe(
      report.events,
    );
    expect(await count(control.pool, 'game.sessions WHERE tenant_id = $1', [tenant.id])).toBe(0);
  });
});

describe('agate migrate over placements', () => {
  it('migrates the others and reports a server that does not answer, exiting non-zero', async () => {
    const migrated = await runCli(['migrate', '--json'], {
      DATABASE_URL: control.url,
      AGATE_DATABASE_URL_EU1: server.url('agate'),
      AGATE_DATABASE_URL_DOWN: 'postgres://root@127.0.0.1:1/agate',
    });
    expect(migrated.code).not.toBe(0);
    expect(migrated.stderr).toMatch(/database:down could not be migrated/);
    const report = JSON.parse(migrated.stdout) as {
      placements: Record<string, { alreadyApplied?: number; error?: { code: string } }>;
    };
    expect(report.placements['database:eu1']?.alreadyApplied).toBeGreaterThan(10);
    expect(report.placements['database:down']?.error?.code).toBe('unavailable');
    const text = await runCli(['migrate'], {
      DATABASE_URL: control.url,
      AGATE_DATABASE_URL_EU1: server.url('agate'),
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^database:eu1: Schema is up to date/m);
  });

  it('maintains and reports the partitions of a placement server by --placement', async () => {
    const env = { DATABASE_URL: control.url, AGATE_DATABASE_URL_EU1: server.url('agate') };
    const maintained = await runCli(
      ['partitions', 'maintain', '--premake', '4', '--placement', 'database:eu1', '--json'],
      env,
    );
    expect(maintained.stderr).toBe('');
    const status = await runCli(
      ['partitions', 'status', '--placement', 'database:eu1', '--json'],
      env,
    );
    const onEu1 = JSON.parse(status.stdout) as { tables: { table: string; monthsAhead: number }[] };
    expect(onEu1.tables.map((t) => [t.table, t.monthsAhead])).toEqual([
      ['game.events', 4],
      ['admin.audit_log', 4],
      ['analytics.events', 4],
    ]);
    // The control plane's own partitions were not touched by it.
    const controlStatus = await runCli(['partitions', 'status', '--json'], env);
    const onControl = JSON.parse(controlStatus.stdout) as { tables: { monthsAhead: number }[] };
    expect(onControl.tables.map((t) => t.monthsAhead)).toEqual([3, 3, 3]);
    const unknown = await runCli(['partitions', 'status', '--placement', 'database:nope'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/AGATE_DATABASE_URL_NOPE.*\[invalid_request\]/);
  });

  it('refuses a malformed server variable before touching any database', async () => {
    const refused = await runCli(['migrate'], {
      DATABASE_URL: control.url,
      AGATE_DATABASE_URL_eu1: server.url('agate'),
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/AGATE_DATABASE_URL_eu1.*upper-case.*\[invalid_config\]/);
  });
});

describe('placing a tenant where it cannot live', () => {
  it('refuses a server this process is not configured with, storing nothing', async () => {
    const before = await count(control.pool, 'public.tenants', []);
    const refused = await call('POST', '/v1/tenants', operatorKey, {
      name: 'nowhere',
      placement: 'database:nowhere',
    });
    expect(refused.status).toBe(400);
    expect(refused.json.code).toBe('invalid_request');
    expect(refused.json.detail).toMatch(/AGATE_DATABASE_URL_NOWHERE/);
    expect(await count(control.pool, 'public.tenants', [])).toBe(before);
  });

  it('refuses a placement that is not shared or database:<name>', async () => {
    for (const placement of ['database:EU1', 'database:', 'schema', 'database:eu1 ', 42]) {
      const refused = await call('POST', '/v1/tenants', operatorKey, { name: 'x', placement });
      expect(refused.status).toBe(400);
      expect(refused.json.code).toBe('invalid_request');
    }
  });

  it('refuses a server that is not migrated with placement_unavailable, storing nothing', async () => {
    const before = await count(control.pool, 'public.tenants', []);
    const refused = await call('POST', '/v1/tenants', operatorKey, {
      name: 'too early',
      placement: 'database:bare',
    });
    expect(refused.status).toBe(503);
    expect(refused.json.code).toBe('placement_unavailable');
    expect(refused.json.detail).toMatch(/agate migrate/);
    expect(await count(control.pool, 'public.tenants', [])).toBe(before);
  });
});

describe('a placement server that stops', () => {
  it('fails only its own tenants, with placement_unavailable, and shows in /readyz and /metrics', async () => {
    const placed = await newTenant('database:eu1');
    const shared = await newTenant('shared');
    const placedSession = await newSession(placed.key);
    const sharedSession = await newSession(shared.key);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(JSON.parse(ready.body)).toMatchObject({
      status: 'ready',
      placements: { 'database:eu1': 'up', 'database:bare': 'out_of_date' },
    });
    await server.kill();
    try {
      const refused = await call('POST', `/v1/sessions/${placedSession}/events`, placed.key, {
        events: [inc(1)],
      });
      expect(refused.status).toBe(503);
      expect(refused.json.code).toBe('placement_unavailable');
      expect(refused.json.detail).toMatch(/database server eu1/);
      expect(JSON.stringify(refused.json)).not.toContain(String(server.port));
      const served = await call('POST', `/v1/sessions/${sharedSession}/events`, shared.key, {
        events: [inc(1)],
      });
      expect(served.status).toBe(201);
      const down = await app.inject({ method: 'GET', url: '/readyz' });
      expect(down.statusCode).toBe(200);
      expect(JSON.parse(down.body)).toMatchObject({
        placements: { 'database:eu1': 'down' },
      });
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/agate_placement_up\{placement="database:eu1"\} 0/);
    } finally {
      await server.start();
    }
    const again = await call('POST', `/v1/sessions/${placedSession}/events`, placed.key, {
      events: [inc(1)],
    });
    expect(again.status).toBe(201);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/agate_placement_up\{placement="database:eu1"\} 1/);
  });
});
