// Online moves of a tenant (issue 19, ADR 0034) under load, process to process: two `agate serve`
// processes and one `agate worker` on one control plane (`shared`) and two databases of a
// PostgreSQL server this file starts (`database:eu1`, `database:eu2`); writers through the typed
// client on both servers, for the moving tenant and for one that stays; an external reader of
// the moving tenant's feed; the moves run by the built CLI, one of them SIGKILLed at a step and
// rerun. Proven: no acknowledged event lost or stored twice, the reader receives each once and
// sees no gap, every session replays and verifies where the tenant ends, the tenant that stays
// is untouched, and no row of the moving tenant stays where it left.
import { randomBytes, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgateClient } from '../../src/client/index.js';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { createKey } from '../../src/keys/index.js';
import type { MoveReport } from '../../src/moves/index.js';
import type { Placement } from '../../src/placements/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { spawnServe } from '../support/api.js';
import type { ServeProcess } from '../support/api.js';
import { startPostgres } from '../support/pg-servers.js';
import type { PgServer } from '../support/pg-servers.js';
import { redisUrl } from '../support/redis.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { killLeftoverChildren, startCli } from './support/jobs-processes.js';
import type { Child } from './support/jobs-processes.js';
import { startMoveLoad, waitFor } from './support/move-load.js';
import type { MoveLoad, Span } from './support/move-load.js';
import { scaled, soak } from './support/soak.js';

const writers = scaled(16, 32);
// In CI each writer pauses between appends, as a game server does: a move and its --finish take
// time in proportion to the tenant's events, and the file keeps to about a minute and a half.
// Under test:soak they append as fast as the servers take it.
const pauseMs = scaled(100, 0);
const testMs = scaled(240_000, 600_000);
/** Events acknowledged between the steps of a move, so that every step runs under load. */
const between = scaled(60, 400);

let control: TestDatabase;
let server: PgServer;
let pools: Record<'eu1' | 'eu2', Pool>;
const serves: ServeProcess[] = [];
let worker: Child;
let env: Record<string, string>;
const prefix = `agate-test-move-load-${randomBytes(6).toString('hex')}`;

const poolOf = (placement: Placement): Pool =>
  placement === 'shared' ? control.pool : pools[placement === 'database:eu1' ? 'eu1' : 'eu2'];
const urlOf = (placement: Placement): string =>
  placement === 'shared' ? control.url : server.url(placement === 'database:eu1' ? 'eu1' : 'eu2');

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

async function count(pool: Pool, sql: string, values: unknown[]): Promise<number> {
  const result = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values);
  return result.rows[0]?.n ?? -1;
}

/** The tenant's rows in a placement's tables that a move carries, by table (audit aside). */
async function tenantRows(pool: Pool, tenantId: string): Promise<Record<string, number>> {
  const rows: Record<string, number> = {};
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
    const n = await count(pool, `${table} WHERE tenant_id = $1`, [tenantId]);
    if (n > 0) rows[table] = n;
  }
  return rows;
}

async function storedEventIds(pool: Pool, tenantId: string): Promise<string[]> {
  const result = await pool.query<{ id: string }>(
    'SELECT event_id::text AS id FROM game.events WHERE tenant_id = $1',
    [tenantId],
  );
  return result.rows.map((r) => r.id);
}

const idsOf = (load: MoveLoad, tenantId: string): string[] =>
  [...load.acked].filter(([, ack]) => ack.tenantId === tenantId).map(([id]) => id);

/** `agate tenants move <tenant> <args> --json` to its end; the parsed report. */
async function move<T>(tenantId: string, args: string[]): Promise<{ report: T; stderr: string }> {
  const ran = await runCli(['tenants', 'move', tenantId, ...args, '--json'], env);
  if (ran.code !== 0) {
    throw new Error(`agate tenants move ${args.join(' ')} exited ${ran.code}: ${ran.stderr}`);
  }
  return { report: JSON.parse(ran.stdout) as T, stderr: ran.stderr };
}

/**
 * What a tenant's data must be where it ends: every acknowledged event once (count and ids),
 * every session replaying and verifying there, the reader's feed each event once without a gap.
 */
async function expectComplete(load: MoveLoad, tenant: Tenant, at: Placement): Promise<void> {
  const acked = idsOf(load, tenant.id);
  const stored = await storedEventIds(poolOf(at), tenant.id);
  expect(stored.length).toBe(acked.length);
  expect(new Set(stored)).toEqual(new Set(acked));
  expect(load.readerError()).toBeUndefined();
  expect(load.received.length).toBe(new Set(load.received).size);
  expect(new Set(load.received)).toEqual(new Set(acked));
  const analyst = new AgateClient({ baseUrl: serves[1]?.url ?? '', apiKey: tenant.analystKey });
  for (const { sessionId } of load.sessions.filter((s) => s.tenantId === tenant.id)) {
    const replayed = await analyst.replay(sessionId, { verify: true });
    expect({ sessionId, verified: replayed.verified, divergences: replayed.divergences }).toEqual({
      sessionId,
      verified: true,
      divergences: [],
    });
    const mine = [...load.acked.values()].filter((a) => a.sessionId === sessionId).length;
    expect(replayed.sequence).toBe(mine);
  }
}

/** The tenant that stayed on `shared`: its acknowledged events there once, nowhere else. */
async function expectUntouched(load: MoveLoad, bystander: Tenant): Promise<void> {
  const acked = idsOf(load, bystander.id);
  expect(acked.length).toBeGreaterThan(0);
  const stored = await storedEventIds(control.pool, bystander.id);
  expect(stored.length).toBe(acked.length);
  expect(new Set(stored)).toEqual(new Set(acked));
  for (const pool of [pools.eu1, pools.eu2])
    expect(await tenantRows(pool, bystander.id)).toEqual({});
}

beforeAll(async () => {
  control = await createTestDatabase();
  server = await startPostgres({ name: 'move-load' });
  await server.createDatabase('eu1');
  await server.createDatabase('eu2');
  env = {
    DATABASE_URL: control.url,
    AGATE_DATABASE_URL_EU1: server.url('eu1'),
    AGATE_DATABASE_URL_EU2: server.url('eu2'),
    // The started server takes 60 connections: 4 per placement and process keeps them all below.
    AGATE_PLACEMENT_POOL_MAX: '4',
    REDIS_URL: redisUrl,
    AGATE_QUEUE_PREFIX: prefix,
    AGATE_RATE_LIMIT: '0',
    LOG_LEVEL: 'warn',
  };
  const migrated = await runCli(['migrate', '--json'], env);
  expect([migrated.code, migrated.stderr]).toEqual([0, '']);
  pools = {
    eu1: createPool({ connectionString: server.url('eu1'), max: 2 }),
    eu2: createPool({ connectionString: server.url('eu2'), max: 2 }),
  };
  // The servers append and serve only; the worker derives (snapshots, hot state, leaderboards).
  // At info: spawnServe waits for the line that says where it listens.
  const serveEnv = { ...env, LOG_LEVEL: 'info' };
  // One after the other, so that afterAll stops the first when the second does not start.
  for (let i = 0; i < 2; i += 1) serves.push(await spawnServe(serveEnv, ['--no-consumers']));
  worker = startCli(['worker', '--concurrency', '2'], env);
  let exit: unknown;
  void worker.exited.then((e) => (exit = e));
  await waitFor('the worker to start', () => {
    if (exit !== undefined) throw new Error(`agate worker exited: ${worker.output()}`);
    return worker.output().includes('SIGTERM to stop');
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(serves.map((s) => s.stop()));
  killLeftoverChildren();
  for (const name of ['snapshots', 'nightly']) {
    const queue = new Queue(name, { connection: { url: redisUrl }, prefix });
    await queue.obliterate({ force: true });
    await queue.close();
  }
  await Promise.all([pools.eu1.end(), pools.eu2.end()]);
  await server.stop();
  await control.drop();
});

/** Something the test holds so that a move stops at `step` until it is killed. */
type Hold = { release(): Promise<void> };

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/**
 * Stops the move from `source` to `target` inside `step`, by a lock its next statement there
 * needs: copy, target's game.events (the copy of the events); fence, the fence's advisory lock
 * on the source (the mover's exclusive hold); verify, target's feed.consumers (the consumers'
 * copy, right after the verification); switch, the tenant's placement row in the control plane.
 * None of them is a transaction in the source's database (the mover waits for those first).
 */
async function holdAt(
  step: 'copy' | 'fence' | 'verify' | 'switch',
  tenantId: string,
  source: Placement,
  target: Placement,
): Promise<Hold> {
  if (step === 'fence') {
    const client = await connect(urlOf(source));
    await client.query(`SELECT pg_advisory_lock(hashtextextended('agate.fence:' || $1, 0))`, [
      tenantId,
    ]);
    return { release: () => client.end() };
  }
  const client = await connect(step === 'switch' ? control.url : urlOf(target));
  await client.query('BEGIN');
  if (step === 'copy') await client.query('LOCK TABLE game.events IN ACCESS EXCLUSIVE MODE');
  if (step === 'verify') await client.query('LOCK TABLE feed.consumers IN ACCESS EXCLUSIVE MODE');
  if (step === 'switch') {
    await client.query(
      'SELECT 1 FROM admin.tenant_placements WHERE tenant_id = $1 FOR NO KEY UPDATE',
      [tenantId],
    );
  }
  return {
    release: async () => {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

describe('agate tenants move under load, across processes', () => {
  it(
    'moves a tenant shared -> eu1 -> eu2 -> shared while writers on two servers append and a reader follows its feed',
    async () => {
      const tenant = await newTenant('moving under load');
      const bystander = await newTenant('stays under load');
      const urls = serves.map((s) => s.url);
      const load = await startMoveLoad({
        urls,
        // Three writers of four on the moving tenant.
        tenants: [tenant, tenant, tenant, bystander],
        writers,
        pauseMs,
        read: { url: urls[0] ?? '', key: tenant.analystKey, tenantId: tenant.id },
      });
      // A durable consumer (server-side checkpoints) read before the moves and after them: its
      // checkpoint moves with the tenant (remapped into each target's feed).
      const durable = new AgateClient({
        baseUrl: urls[1] ?? '',
        apiKey: tenant.analystKey,
        retries: 30,
        backoffMs: 20,
      }).consumer('moves-with-its-tenant', { slots: 4, batchSize: 500, member: 'test' });
      const durableSeen: string[] = [];
      // Reads until a receive comes back short of a batch (while writers run, an empty one may
      // never come) or, with `toTheEnd` once they stopped, empty.
      const drain = async (toTheEnd: boolean) => {
        await durable.join();
        for (;;) {
          const received = await durable.receive();
          durableSeen.push(...received.events.map((e) => e.eventId));
          if (received.through !== null) await durable.checkpoint(received);
          if (received.held) continue;
          if (received.events.length === 0 || (!toTheEnd && received.events.length < 500)) return;
        }
      };
      await durable.ensure();
      await load.moreAcks(tenant.id, between);
      await drain(false);
      expect(durableSeen.length).toBeGreaterThan(0);
      const spans: Span[] = [];
      const fences: number[] = [];
      let from: Placement = 'shared';
      for (const to of ['database:eu1', 'database:eu2', 'shared'] as const) {
        await load.moreAcks(tenant.id, between);
        const start = performance.now();
        const moved = await move<MoveReport>(tenant.id, ['--to', to]);
        expect(moved.report).toMatchObject({
          source: from,
          target: to,
          step: 'switched',
          resumed: false,
        });
        for (const step of [
          'prepare',
          'copy',
          'fence',
          'verify',
          'switch',
          'switched',
          'derived',
        ]) {
          expect(moved.stderr).toContain(`move: ${step}: `);
        }
        expect(moved.stderr).toMatch(/^move: done: /m);
        // Agate's own consumers of the tenant (the worker's) move too; this one among them.
        expect(moved.report.counts.consumer).toBeGreaterThanOrEqual(1);
        expect(
          await count(
            poolOf(to),
            `feed.consumer_slots s JOIN feed.consumers c ON c.id = s.consumer_id
              WHERE c.tenant_id = $1 AND c.name = 'moves-with-its-tenant'`,
            [tenant.id],
          ),
        ).toBe(4);
        fences.push(moved.report.fenceMs);
        await load.moreAcks(tenant.id, between);
        const finished = await move<{ step: string; removed: number }>(tenant.id, ['--finish']);
        spans.push({ start, end: performance.now() });
        expect(finished.report.step).toBe('finished');
        expect(finished.report.removed).toBeGreaterThan(0);
        expect(await tenantRows(poolOf(from), tenant.id)).toEqual({});
        from = to;
      }
      await load.moreAcks(tenant.id, between);
      await load.stop();
      expect(Object.fromEntries(load.errors)).toEqual({});

      await expectComplete(load, tenant, 'shared');
      await expectUntouched(load, bystander);
      // The durable consumer resumed where its checkpoint was: each event once over both reads.
      await drain(true);
      expect(durableSeen.length).toBe(new Set(durableSeen).size);
      expect(new Set(durableSeen)).toEqual(new Set(idsOf(load, tenant.id)));
      // The worker derived for the tenant where it lives now, and nothing of it is left elsewhere.
      await waitFor('snapshots of the moved tenant on shared', async () => {
        return (await count(control.pool, 'game.snapshots WHERE tenant_id = $1', [tenant.id])) > 0;
      });
      for (const pool of [pools.eu1, pools.eu2])
        expect(await tenantRows(pool, tenant.id)).toEqual({});
      const moves = await control.pool.query<{ step: string }>(
        'SELECT step FROM admin.tenant_moves WHERE tenant_id = $1',
        [tenant.id],
      );
      expect(moves.rows.map((m) => m.step)).toEqual(['finished', 'finished', 'finished']);
      console.info(
        `tenant moves under load (${writers} writers, ${load.acked.size} events): fence held ${fences.join(', ')} ms; longest acknowledged append during the moves ${load.longestDuring(spans)} ms`,
      );
    },
    testMs,
  );

  it(
    'completes a move SIGKILLed at a step when it is rerun, while the writers keep appending',
    async () => {
      const tenant = await newTenant('killed under load');
      const bystander = await newTenant('stays beside the kill');
      const urls = serves.map((s) => s.url);
      const load = await startMoveLoad({
        urls,
        tenants: [tenant, tenant, tenant, bystander],
        writers: scaled(8, 16),
        pauseMs,
        read: { url: urls[1] ?? '', key: tenant.analystKey, tenantId: tenant.id },
      });
      const hops: ['copy' | 'fence' | 'verify' | 'switch', Placement][] = soak
        ? [
            ['copy', 'database:eu1'],
            ['switch', 'database:eu2'],
            ['verify', 'shared'],
            ['fence', 'database:eu1'],
          ]
        : [['fence', 'database:eu1']];
      let from: Placement = 'shared';
      for (const [step, to] of hops) {
        await load.moreAcks(tenant.id, between);
        const hold = await holdAt(step, tenant.id, from, to);
        const mover = startCli(['tenants', 'move', tenant.id, '--to', to, '--json'], env);
        try {
          await waitFor(`the move to reach ${step}`, () => {
            if (/^agate: /m.test(mover.output())) throw new Error(mover.output());
            return new RegExp(`^move: ${step}: `, 'm').test(mover.output());
          });
          mover.kill('SIGKILL');
          expect((await mover.exited).signal).toBe('SIGKILL');
        } finally {
          await hold.release();
        }
        // Killed where it was held: the move open and not switched, the tenant still at the source.
        const open = await control.pool.query<{ step: string; placement: string }>(
          `SELECT m.step, p.placement FROM admin.tenant_moves m
           JOIN admin.tenant_placements p USING (tenant_id)
          WHERE m.tenant_id = $1 AND m.step <> 'finished'`,
          [tenant.id],
        );
        expect(open.rows).toEqual([{ step: 'copying', placement: from }]);
        // Killed before the source refused the tenant's writes, the tenant lives at the source and
        // its writers go on; killed after, they wait (retrying tenant_moving) for the rerun.
        if (step !== 'switch') await load.moreAcks(tenant.id, between);
        const rerun = await move<MoveReport>(tenant.id, ['--to', to]);
        expect(rerun.report).toMatchObject({ source: from, target: to, resumed: true });
        await load.moreAcks(tenant.id, between);
        await move(tenant.id, ['--finish']);
        expect(await tenantRows(poolOf(from), tenant.id)).toEqual({});
        from = to;
      }
      await load.stop();
      expect(Object.fromEntries(load.errors)).toEqual({});
      await expectComplete(load, tenant, from);
      await expectUntouched(load, bystander);
      for (const placement of ['shared', 'database:eu1', 'database:eu2'] as const) {
        if (placement !== from) expect(await tenantRows(poolOf(placement), tenant.id)).toEqual({});
      }
    },
    testMs,
  );

  it('refuses a move it cannot make, with the reason, storing nothing', async () => {
    const tenant = await newTenant('refused move');
    const run = (args: string[]) => runCli(['tenants', 'move', ...args], env);
    const exactlyOne = 'give exactly one of --to <placement>, --finish, --abort or --status';
    // Each refused before anything is stored, so they may run at once.
    const [none, two, badPlacement, nowhere, unknown, nothing, noAbort] = await Promise.all([
      run([tenant.id]),
      run([tenant.id, '--to', 'database:eu1', '--finish']),
      run([tenant.id, '--to', 'eu1']),
      run([tenant.id, '--to', 'database:nowhere']),
      run([randomUUID(), '--to', 'database:eu1']),
      run([tenant.id, '--finish']),
      run([tenant.id, '--abort']),
    ]);
    expect([none.code, none.stderr]).toEqual([2, expect.stringContaining(exactlyOne)]);
    expect([two.code, two.stderr]).toEqual([2, expect.stringContaining(exactlyOne)]);
    expect(badPlacement.code).not.toBe(0);
    expect(badPlacement.stderr).toContain("option '--to <placement>' argument 'eu1' is invalid");
    expect(nowhere.code).not.toBe(0);
    expect(nowhere.stderr).toContain('placement_unavailable');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('tenant_not_found');
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain('invalid_request');
    expect(noAbort.code).not.toBe(0);
    expect(noAbort.stderr).toContain('invalid_request');
    expect(await count(control.pool, 'admin.tenant_moves WHERE tenant_id = $1', [tenant.id])).toBe(
      0,
    );
    expect(await tenantRows(pools.eu1, tenant.id)).toEqual({});
  });
});
