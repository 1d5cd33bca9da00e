// Online moves of a tenant between placements (issue 19, ADR 0034) on real servers: the control
// plane's database (`shared`) and two databases of a PostgreSQL server this file starts
// (`database:eu1`, `database:eu2`). Writers keep appending through the API and an external
// consumer keeps reading the feed by cursor while the tenant moves shared -> eu1 -> eu2 ->
// shared; every acknowledged event is there exactly once and the consumer receives each once.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { isAgateError } from '../../src/errors/index.js';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { appendEventsInTransaction, selectMoveDigest } from '../../src/events/index.js';
import { archiveGateV1, createGameCatalog } from '../../src/game/index.js';
import { createKey } from '../../src/keys/index.js';
import { abortMove, finishMove, moveTenant } from '../../src/moves/index.js';
import type { MoveProgress } from '../../src/moves/index.js';
import { createPlacementRouter } from '../../src/placements/index.js';
import type { Placement, PlacementRouter } from '../../src/placements/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { maintainPartitions } from '../../partitions/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { inc } from '../support/api.js';
import { startPostgres } from '../support/pg-servers.js';
import type { PgServer } from '../support/pg-servers.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyRules } from '../support/tiny-rules.js';

const games = createGameCatalog([tinyRules, archiveGateV1]);

let control: TestDatabase;
let server: PgServer;
let pools: Record<'eu1' | 'eu2' | 'eu3', Pool>;
let agates: Agate[] = [];
let router: PlacementRouter<Agate>;
let app: ReturnType<typeof createServer>;
const consumerErrors: { tenantId: string | null; text: string; code: string | null }[] = [];

const poolOf = (placement: Placement): Pool =>
  placement === 'shared'
    ? control.pool
    : pools[placement.slice('database:'.length) as 'eu1' | 'eu2' | 'eu3'];

type Reply = { status: number; json: Record<string, unknown> };

async function call(method: 'GET' | 'POST', url: string, key: string, body?: object) {
  const raw = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  return {
    status: raw.statusCode,
    json: JSON.parse(raw.body) as Record<string, unknown>,
    retryAfter: raw.headers['retry-after'],
  };
}

/** A write as a client makes it: 503 tenant_moving is retried (the typed client does the same). */
async function write(url: string, key: string, body: object): Promise<Reply> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const reply = await call('POST', url, key, body);
    if (reply.status !== 503 || reply.json.code !== 'tenant_moving') return reply;
  }
  throw new Error(`${url} answered tenant_moving 500 times`);
}

async function count(pool: Pool, sql: string, values: unknown[]): Promise<number> {
  const result = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values);
  return result.rows[0]?.n ?? -1;
}

/** Every row of the tenant in a placement's tables that a move carries (audit aside). */
async function tenantRows(pool: Pool, tenantId: string): Promise<number> {
  let total = 0;
  for (const table of [
    'game.events',
    'archive.events',
    'game.sessions',
    'game.snapshots',
    'game.session_secrets',
    'public.players',
    'analytics.events',
    'feed.consumers',
    'feed.consumer_slots',
  ]) {
    total += await count(pool, `${table} WHERE tenant_id = $1`, [tenantId]);
  }
  return total;
}

type Tenant = { id: string; key: string; analystKey: string };

async function newTenant(name: string): Promise<Tenant> {
  const tenant = await createTenant(control.pool, { name, actor: 'test' });
  const key = await createKey(control.pool, {
    tenantId: tenant.id,
    role: 'game_server',
    actor: 'test',
  });
  const analyst = await createKey(control.pool, {
    tenantId: tenant.id,
    role: 'analyst',
    actor: 'test',
  });
  return { id: tenant.id, key: key.key, analystKey: analyst.key };
}

async function newSession(key: string): Promise<string> {
  const created = await write('/v1/sessions', key, { rules: 'tiny' });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

beforeAll(async () => {
  control = await createTestDatabase();
  server = await startPostgres({ name: 'moves' });
  await server.createDatabase('eu1');
  await server.createDatabase('eu2');
  await server.createDatabase('eu3');
  const migrated = await runCli(['migrate', '--json'], {
    DATABASE_URL: control.url,
    AGATE_DATABASE_URL_EU1: server.url('eu1'),
    AGATE_DATABASE_URL_EU2: server.url('eu2'),
    AGATE_DATABASE_URL_EU3: server.url('eu3'),
  });
  expect(migrated.code).toBe(0);
  pools = {
    eu1: createPool({ connectionString: server.url('eu1'), max: 8 }),
    eu2: createPool({ connectionString: server.url('eu2'), max: 8 }),
    eu3: createPool({ connectionString: server.url('eu3'), max: 4 }),
  };
  // Consumers that fail tell the test: one left running for a tenant that moved away would.
  const consumers = {
    onError: (error: unknown, where: { tenantId: string | null; consumer: string | null }) =>
      consumerErrors.push({
        tenantId: where.tenantId,
        text: `${where.consumer ?? '-'}: ${String(error)}`,
        code: isAgateError(error) ? error.code : null,
      }),
  };
  const controlAgate = createAgate({ pool: control.pool, games, consumers });
  const eu1 = createAgate({ pool: pools.eu1, games, consumers });
  const eu2 = createAgate({ pool: pools.eu2, games, consumers });
  const eu3 = createAgate({ pool: pools.eu3, games, consumers: false });
  agates = [controlAgate, eu1, eu2, eu3];
  router = createPlacementRouter({
    control: controlAgate,
    databases: new Map([
      ['eu1', eu1],
      ['eu2', eu2],
      ['eu3', eu3],
    ]),
  });
  app = createServer({
    agate: controlAgate,
    placements: router,
    logger: pino({ level: 'silent' }),
    rateLimit: null,
  });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app.close();
  await router.close();
  for (const agate of agates) await agate.close();
  await Promise.all([pools.eu1.end(), pools.eu2.end(), pools.eu3.end()]);
  await server.stop();
  await control.drop();
});

describe('agate tenants move', () => {
  it('moves a tenant shared -> eu1 -> eu2 -> shared while it appends, losing and repeating nothing', async () => {
    const tenant = await newTenant('moving');
    const bystander = await newTenant('stays');
    const bystanderSession = await newSession(bystander.key);
    const sessions = await Promise.all(Array.from({ length: 6 }, () => newSession(tenant.key)));
    const acked = new Map<string, string>(); // eventId -> sessionId
    let stop = false;
    let longestWrite = 0;
    const waiters = new Set<() => void>();
    const writers = sessions.map(async (sessionId) => {
      while (!stop) {
        const eventId = randomUUID();
        const started = performance.now();
        const reply = await write(`/v1/sessions/${sessionId}/events`, tenant.key, {
          events: [inc(1, eventId)],
        });
        expect(reply.status).toBe(201);
        longestWrite = Math.max(longestWrite, performance.now() - started);
        acked.set(eventId, sessionId);
        for (const waiter of [...waiters]) waiter();
      }
    });
    // The consumer keeps its own cursor, as a service outside agate would.
    const received: string[] = [];
    let cursor = '0:00000000-0000-0000-0000-000000000000:0';
    const readPage = async () => {
      const page = await call('GET', `/v1/feed?after=${cursor}&limit=200`, tenant.analystKey);
      expect(page.status).toBe(200);
      const events = page.json.events as { eventId: string; position: string }[];
      for (const event of events) received.push(event.eventId);
      cursor = page.json.next as string;
      return events.length;
    };
    const consumer = (async () => {
      while (!stop) await readPage();
    })();
    // Resolves once the writers have had `n` more appends acknowledged (they call the waiters).
    const waitForAppends = (n: number) =>
      new Promise<void>((resolve) => {
        const target = acked.size + n;
        const waiter = () => {
          if (acked.size < target) return;
          waiters.delete(waiter);
          resolve();
        };
        waiters.add(waiter);
      });

    const fences: number[] = [];
    let from: Placement = 'shared';
    for (const to of ['database:eu1', 'database:eu2', 'shared'] as const) {
      await waitForAppends(30);
      const report = await moveTenant({
        tenantId: tenant.id,
        to,
        router,
        actor: 'test',
      });
      expect(report).toMatchObject({ source: from, target: to, step: 'switched', resumed: false });
      fences.push(report.fenceMs);
      await waitForAppends(30);
      const finished = await finishMove({ tenantId: tenant.id, router, actor: 'test' });
      expect(finished.removed).toBeGreaterThan(0);
      // The placement left holds none of the tenant's rows (the control plane keeps its audit).
      expect(await tenantRows(poolOf(from), tenant.id)).toBe(0);
      from = to;
    }
    stop = true;
    await Promise.all(writers);
    await consumer;
    // Drained: a page can be empty while a transaction elsewhere holds the feed's horizon back
    // (`held`), so read until everything acknowledged has arrived, or a bound says it never will.
    for (let reads = 0; new Set(received).size < acked.size && reads < 500; reads += 1) {
      await readPage();
    }

    // Every acknowledged event is stored once, where the tenant lives now, and nowhere else.
    expect(acked.size).toBeGreaterThan(150);
    expect(await count(control.pool, 'game.events WHERE tenant_id = $1', [tenant.id])).toBe(
      acked.size,
    );
    for (const pool of [pools.eu1, pools.eu2]) expect(await tenantRows(pool, tenant.id)).toBe(0);
    // The consumer read straight through three moves: each event once, none missing.
    expect(received.length).toBe(new Set(received).size);
    expect(new Set(received)).toEqual(new Set(acked.keys()));
    // Every session replays and verifies (chain and anchors) where it lives now.
    for (const sessionId of sessions) {
      const replayed = await call(
        'GET',
        `/v1/sessions/${sessionId}/replay?verify=true`,
        tenant.analystKey,
      );
      expect(replayed.json).toMatchObject({ verified: true, divergences: [] });
      const mine = [...acked.values()].filter((s) => s === sessionId).length;
      expect(replayed.json.sequence).toBe(mine);
    }
    // The tenant that stayed saw nothing of it.
    expect(await count(control.pool, 'game.sessions WHERE tenant_id = $1', [bystander.id])).toBe(1);
    expect((await call('GET', `/v1/sessions/${bystanderSession}`, bystander.key)).status).toBe(200);
    // Each move is recorded, with the longest time any write waited at its fence.
    const moves = await control.pool.query<{ step: string; longest_fence_ms: number }>(
      'SELECT step, longest_fence_ms FROM admin.tenant_moves WHERE tenant_id = $1',
      [tenant.id],
    );
    expect(moves.rows.map((m) => m.step)).toEqual(['finished', 'finished', 'finished']);
    // Derived data caught up where the tenant lives, and no consumer was left running (and
    // failing) for it where it used to live.
    for (const agate of agates.slice(0, 3)) await agate.idle();
    // A handle that lost its slots while the tenant was away rejoins (lease_lost is how a
    // group hands slots over); anything else would be a consumer failing for the moved tenant.
    expect(
      consumerErrors
        .filter((e) => e.tenantId === tenant.id && e.code !== 'lease_lost')
        .map((e) => e.text),
    ).toEqual([]);
    const lastSession = sessions[0] ?? '';
    const lastSequence = [...acked.values()].filter((s) => s === lastSession).length;
    expect(
      await count(control.pool, 'game.snapshots WHERE session_id = $1 AND sequence <= $2', [
        lastSession,
        lastSequence,
      ]),
    ).toBe(Math.floor(lastSequence / 50));
    console.info(
      `tenant moves: fence held ${fences.join(', ')} ms; longest acknowledged write ${Math.round(longestWrite)} ms`,
    );
  }, 240_000);

  it('resumes a move killed at each step, and rolls one back', async () => {
    const tenant = await newTenant('killed');
    const sessionId = await newSession(tenant.key);
    let appended = 0;
    const append = async () => {
      const reply = await write(`/v1/sessions/${sessionId}/events`, tenant.key, {
        events: Array.from({ length: 20 }, () => inc(1)),
      });
      expect(reply.status).toBe(201);
      appended += 20;
    };
    await append();
    const killAt = (step: MoveProgress['step']) => (progress: MoveProgress) => {
      if (progress.step === step) throw new Error(`killed at ${step}`);
    };
    const hops: [MoveProgress['step'], Placement][] = [
      ['copy', 'database:eu1'],
      ['fence', 'database:eu2'],
      ['verify', 'shared'],
      ['switch', 'database:eu1'],
    ];
    let from: Placement = 'shared';
    for (const [step, to] of hops) {
      await expect(
        moveTenant({ tenantId: tenant.id, to, router, actor: 'test', onProgress: killAt(step) }),
      ).rejects.toThrow(`killed at ${step}`);
      if (step === 'switch') {
        // The source refuses its writes already and the control plane still points there:
        // writes get tenant_moving (retryable) until the move is rerun, never stored there.
        const refused = await call('POST', `/v1/sessions/${sessionId}/events`, tenant.key, {
          events: [inc(1)],
        });
        expect(refused.status).toBe(503);
        expect(refused.json.code).toBe('tenant_moving');
      } else {
        await append();
      }
      expect(await router.control.pool.query('SELECT 1')).toBeTruthy();
      const report = await moveTenant({
        tenantId: tenant.id,
        to,
        router,
        actor: 'test',
      });
      expect(report).toMatchObject({ source: from, target: to, resumed: true });
      expect(report.verified.events).toBe(appended);
      await append();
      await finishMove({ tenantId: tenant.id, router, actor: 'test' });
      expect(await tenantRows(poolOf(from), tenant.id)).toBe(0);
      from = to;
    }
    // Rolled back: the tenant stays, the copy leaves the target.
    await expect(
      moveTenant({
        tenantId: tenant.id,
        to: 'database:eu2',
        router,
        actor: 'test',
        onProgress: killAt('verify'),
      }),
    ).rejects.toThrow('killed at verify');
    expect(await count(pools.eu2, 'game.events WHERE tenant_id = $1', [tenant.id])).toBe(appended);
    const rolled = await abortMove({ tenantId: tenant.id, router, actor: 'test' });
    expect(rolled).toMatchObject({ step: 'rolled_back', source: 'database:eu1' });
    expect(await tenantRows(pools.eu2, tenant.id)).toBe(0);
    await append();
    const digest = await selectMoveDigest(pools.eu1, tenant.id);
    expect(digest.events).toBe(appended);
  }, 240_000);

  it('carries the months retention archived, and the months the target has no partition for', async () => {
    // eu3 alone plays a session over six months and archives the oldest four (as retention
    // would five months on); the move reads live and archived months in one feed order.
    const now = new Date();
    const at = (months: number) =>
      new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15, 12));
    const placed = await createTenant(
      control.pool,
      { name: 'archived', actor: 'test', placement: 'database:eu3' },
      pools.eu3,
    );
    const session = await router
      .agateOf('database:eu3')
      .store.createSession({ tenantId: placed.id, rules: 'tiny', seed: 'archived' });
    for (const month of [0, 1, 2, 3, 4, 5]) {
      await appendAt(pools.eu3, session, at(month), tinyEvents(25));
    }
    const maintained = await maintainPartitions(server.url('eu3'), {
      backend: 'native',
      now: at(5),
      retentionMonths: 2,
    });
    expect(maintained.ran).toBe(true);
    expect(await count(pools.eu3, 'archive.events WHERE tenant_id = $1', [placed.id])).toBe(75);
    const report = await moveTenant({
      tenantId: placed.id,
      to: 'database:eu2',
      router,
      actor: 'test',
    });
    expect(report.verified).toMatchObject({ sessions: 1, events: 150 });
    expect(await count(pools.eu2, 'game.events WHERE session_id = $1', [session.id])).toBe(150);
    await finishMove({ tenantId: placed.id, router, actor: 'test' });
    expect(await tenantRows(pools.eu3, placed.id)).toBe(0);
    const replayed = await router.agateOf('database:eu2').replay({
      tenantId: placed.id,
      sessionId: session.id,
      verify: true,
    });
    expect(replayed).toMatchObject({ sequence: 150, verified: true, divergences: [] });
  });

  it('waits for a REPEATABLE READ transaction older than the move, whose append it then carries', async () => {
    // Its snapshot predates the fence row, so its append's check cannot see the fence: the move
    // must not copy past it before it ends.
    const tenant = await newTenant('old snapshot');
    const sessionId = await newSession(tenant.key);
    const tx = await control.pool.connect();
    try {
      await tx.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await tx.query('SELECT 1');
      const moving = moveTenant({ tenantId: tenant.id, to: 'database:eu1', router, actor: 'test' });
      // The mover waits for this transaction (its pg_stat_activity row stays until it ends).
      for (let polls = 0; polls < 400; polls += 1) {
        const fenced = await count(control.pool, 'admin.tenant_fences WHERE tenant_id = $1', [
          tenant.id,
        ]);
        if (fenced === 1) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Without that wait the move would switch now, and the append below would land on the
      // placement it left (its snapshot has no fence row): look for 1 s that it does not.
      const until = performance.now() + 1_000;
      while (performance.now() < until) {
        const switched = await count(
          control.pool,
          `admin.tenant_moves WHERE tenant_id = $1 AND step <> 'copying'`,
          [tenant.id],
        );
        expect(switched).toBe(0);
      }
      const appended = await appendEventsInTransaction(router.control.store.deps, tx, {
        tenantId: tenant.id,
        sessionId,
        events: [inc(1), inc(2)],
      });
      expect(appended).toMatchObject({ lastSequence: 2 });
      await tx.query('COMMIT');
      const report = await moving;
      expect(report.verified.events).toBe(2);
      expect(await count(pools.eu1, 'game.events WHERE session_id = $1', [sessionId])).toBe(2);
    } finally {
      tx.release();
    }
    await finishMove({ tenantId: tenant.id, router, actor: 'test' });
  });

  it('refuses what it cannot do, storing nothing', async () => {
    const tenant = await newTenant('refused');
    const input = { tenantId: tenant.id, router, actor: 'test' };
    await expect(moveTenant({ ...input, to: 'shared' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(moveTenant({ ...input, to: 'database:nowhere' })).rejects.toMatchObject({
      code: 'placement_unavailable',
    });
    await expect(
      moveTenant({ ...input, tenantId: randomUUID(), to: 'database:eu1' }),
    ).rejects.toMatchObject({ code: 'tenant_not_found' });
    await expect(finishMove(input)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(abortMove(input)).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await count(control.pool, 'admin.tenant_moves WHERE tenant_id = $1', [tenant.id])).toBe(
      0,
    );
  });
});
