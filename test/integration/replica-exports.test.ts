// Exports from a streaming replica (issue 19, ADR 0033): `agate tenants export` and the player
// export read the placement's replica once it has replayed everything the primary had committed
// when the export started, else the primary; the audit entry is the primary's. This file starts
// its own primary and a replica of it. Spawns the built binary: `npm run build` first.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { connectClient, createPool, migrate } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { createKey } from '../../src/keys/index.js';
import { createPlacementRouter } from '../../src/placements/index.js';
import type { PlacementRouter } from '../../src/placements/index.js';
import { createPlayer, exportPlayer } from '../../src/players/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant, exportTenant } from '../../src/tenants/index.js';
import { inc } from '../support/api.js';
import { startCuttingProxy } from '../support/cutting-proxy.js';
import { startPostgres, startReplica } from '../support/pg-servers.js';
import type { PgReplica, PgServer } from '../support/pg-servers.js';
import { runCli } from '../support/run-cli.js';
import { tinyGames } from '../support/tiny-rules.js';

let primary: PgServer;
let replica: PgReplica;
let primaryPool: Pool;
let replicaPool: Pool;
let primaryAgate: Agate;
let replicaAgate: Agate;
let router: PlacementRouter<Agate>;
let app: ReturnType<typeof createServer>;
let dir: string;

type Summary = { counts: Record<string, number>; readFrom: string; placement: string };
type Line = { kind: string; exportedAt?: string; row?: Record<string, unknown> };

const cli = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, {
    DATABASE_URL: primary.url('agate'),
    AGATE_REPLICA_URL: replica.url('agate'),
    ...env,
  });

/** A tenant with a player, an admin key and a session of `events` events; its ids. */
async function newTenant(events: number) {
  const tenant = await createTenant(primaryPool, { name: `exported-${uuidv7()}`, actor: 'test' });
  const admin = await createKey(primaryPool, { tenantId: tenant.id, role: 'admin', actor: 'test' });
  const player = await createPlayer(primaryPool, {
    tenantId: tenant.id,
    displayName: 'Ada Lovelace',
    email: 'ada@example.com',
  });
  const session = await primaryAgate.store.createSession({
    tenantId: tenant.id,
    rules: 'tiny',
    seed: `export-${uuidv7()}`,
    playerId: player.id,
  });
  const ids = { tenantId: tenant.id, admin: admin.key, playerId: player.id, sessionId: session.id };
  await append(ids, events);
  return ids;
}

async function append(ids: { tenantId: string; sessionId: string }, count: number) {
  let last = 0;
  for (let done = 0; done < count; done += 50) {
    const batch = Array.from({ length: Math.min(50, count - done) }, (_, i) => inc(done + i + 1));
    const appended = await primaryAgate.store.appendEvents({ ...ids, events: batch });
    if (!appended.ok) throw new Error(`append failed: ${appended.reason}`);
    last = appended.lastSequence;
  }
  return last;
}

async function exportLines(path: string): Promise<Line[]> {
  const text = await readFile(path, 'utf8');
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
}

/** The lines the primary's own export gives right now (in process: nothing is audited). */
async function primaryExport(tenantId: string): Promise<Line[]> {
  const lines: Line[] = [];
  await exportTenant(
    { tenantId, placement: 'shared', control: primaryPool, data: primaryPool, now: new Date() },
    (line) => {
      lines.push(JSON.parse(line) as Line);
      return Promise.resolve();
    },
  );
  return lines;
}

const withoutTime = (lines: Line[]) =>
  lines.map((line) => (line.kind === 'export' ? { ...line, exportedAt: 'the time' } : line));

const eventSequences = (lines: Line[], sessionId: string) =>
  lines
    .filter((line) => line.kind === 'event' && line.row?.session_id === sessionId)
    .map((line) => line.row?.sequence);

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function exportOverHttp(ids: { admin: string; playerId: string }) {
  const raw = await app.inject({
    method: 'GET',
    url: `/v1/players/${ids.playerId}/export`,
    headers: { authorization: `Bearer ${ids.admin}` },
  });
  expect(raw.statusCode).toBe(200);
  const body = JSON.parse(raw.body) as { events: { sequence: number }[] };
  return { body, from: raw.headers['x-agate-read-from'] };
}

beforeAll(async () => {
  primary = await startPostgres({ name: 'export-primary' });
  await primary.createDatabase('agate');
  const client = await connectClient({ connectionString: primary.url('agate') });
  try {
    await migrate(client);
  } finally {
    await client.end();
  }
  replica = await startReplica(primary);
  primaryPool = createPool({ connectionString: primary.url('agate'), max: 6 });
  replicaPool = createPool({ connectionString: replica.url('agate'), max: 4 });
  primaryAgate = createAgate({ pool: primaryPool, games: tinyGames, consumers: false });
  replicaAgate = createAgate({ pool: replicaPool, games: tinyGames, consumers: false });
  router = createPlacementRouter({
    control: primaryAgate,
    replicas: new Map([['shared', replicaAgate]]),
  });
  app = createServer({
    agate: primaryAgate,
    placements: router,
    replicaWaitMs: 1_000,
    logger: pino({ level: 'silent' }),
    rateLimit: null,
  });
  await app.ready();
  dir = await mkdtemp(join(tmpdir(), 'agate-replica-export-'));
}, 120_000);

afterAll(async () => {
  await app.close();
  await router.close();
  await primaryAgate.close();
  await replicaAgate.close();
  await Promise.all([primaryPool.end(), replicaPool.end()]);
  await replica.stop();
  await primary.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('agate tenants export with a replica', () => {
  it('reads a caught-up replica, line for line what the primary holds; the audit entry is the primary’s', async () => {
    const ids = await newTenant(120);
    await replica.caughtUp(10_000);
    const expected = await primaryExport(ids.tenantId);
    const out = join(dir, `replica-${uuidv7()}.ndjson`);
    const r = await cli(['tenants', 'export', ids.tenantId, '--out', out, '--json']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const summary = JSON.parse(r.stdout) as Summary;
    expect([summary.readFrom, summary.counts.event]).toEqual(['replica', 120]);
    expect(withoutTime(await exportLines(out))).toEqual(withoutTime(expected));
    const audited = await primaryPool.query<{ details: Record<string, unknown> }>(
      "SELECT details FROM admin.audit_log WHERE tenant_id = $1 AND action = 'tenant.exported'",
      [ids.tenantId],
    );
    expect(audited.rows).toHaveLength(1);
    const text = await cli(['tenants', 'export', ids.tenantId, '--out', `${out}.2`]);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/\(shared\) to .*, read from the replica: 1 tenant, 1 api_key/);
  });

  it('never misses an event committed before it started: a paused replica is waited for, then the primary reads', async () => {
    const ids = await newTenant(30);
    await replica.caughtUp(10_000);
    await replicaPool.query('SELECT pg_wal_replay_pause()');
    try {
      const last = await append(ids, 25);
      const out = join(dir, `paused-${uuidv7()}.ndjson`);
      const startedAt = performance.now();
      const r = await cli(['tenants', 'export', ids.tenantId, '--out', out, '--json'], {
        AGATE_REPLICA_WAIT_MS: '400',
      });
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(400);
      expect((JSON.parse(r.stdout) as Summary).readFrom).toBe('primary');
      expect(eventSequences(await exportLines(out), ids.sessionId)).toEqual(oneTo(last));
      // On stdout too.
      const piped = await cli(['tenants', 'export', ids.tenantId], { AGATE_REPLICA_WAIT_MS: '0' });
      expect(piped.code).toBe(0);
      expect(piped.stderr).toMatch(/read from the primary/);
      const lines = piped.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as Line);
      expect(eventSequences(lines, ids.sessionId)).toEqual(oneTo(last));
    } finally {
      await replicaPool.query('SELECT pg_wal_replay_resume()');
    }
  });

  it('waits for a replica that catches up within the wait, and reads it with every event', async () => {
    const ids = await newTenant(10);
    await replica.caughtUp(10_000);
    await replicaPool.query('SELECT pg_wal_replay_pause()');
    let resumed = false;
    try {
      const last = await append(ids, 40);
      const out = join(dir, `resumed-${uuidv7()}.ndjson`);
      const running = cli(['tenants', 'export', ids.tenantId, '--out', out, '--json'], {
        AGATE_REPLICA_WAIT_MS: '30000',
      });
      // The export is waiting once it has connected to the (paused) replica to look at its position.
      const deadline = performance.now() + 20_000;
      for (;;) {
        const seen = await replicaPool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'agate replica shared'",
        );
        if ((seen.rows[0]?.n ?? 0) > 0) break;
        expect(performance.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await replicaPool.query('SELECT pg_wal_replay_resume()');
      resumed = true;
      const r = await running;
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect((JSON.parse(r.stdout) as Summary).readFrom).toBe('replica');
      expect(eventSequences(await exportLines(out), ids.sessionId)).toEqual(oneTo(last));
    } finally {
      if (!resumed) await replicaPool.query('SELECT pg_wal_replay_resume()');
    }
  });

  it('reads the primary when the replica is stopped', async () => {
    const ids = await newTenant(20);
    await replica.kill();
    try {
      const last = await append(ids, 5);
      const out = join(dir, `stopped-${uuidv7()}.ndjson`);
      const r = await cli(['tenants', 'export', ids.tenantId, '--out', out, '--json']);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect((JSON.parse(r.stdout) as Summary).readFrom).toBe('primary');
      expect(eventSequences(await exportLines(out), ids.sessionId)).toEqual(oneTo(last));
    } finally {
      await replica.start();
    }
    await replica.caughtUp(10_000);
  });

  it('restarts an export to a file on the primary when the replica fails midway, and fails one to stdout', async () => {
    const ids = await newTenant(600);
    await replica.caughtUp(10_000);
    // Each connection to the replica carries 4-8 KB: enough to look at its position, never the
    // ~150 KB of this tenant's events.
    const proxy = await startCuttingProxy({
      target: { host: '127.0.0.1', port: replica.port },
      seed: 19,
      minBytes: 4_000,
      maxBytes: 8_000,
    });
    try {
      const env = {
        AGATE_REPLICA_URL: `postgres://root@127.0.0.1:${new URL(proxy.url).port}/agate`,
      };
      const out = join(dir, `cut-${uuidv7()}.ndjson`);
      const r = await cli(['tenants', 'export', ids.tenantId, '--out', out, '--json'], env);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect((JSON.parse(r.stdout) as Summary).readFrom).toBe('primary');
      const lines = await exportLines(out);
      expect(lines.filter((line) => line.kind === 'export')).toHaveLength(1);
      expect(eventSequences(lines, ids.sessionId)).toEqual(oneTo(600));
      expect(lines.at(-1)?.kind).toBe('summary');
      // The cut came during the export's reads: the look at the position fits in any budget.
      expect(proxy.cuts()).toBeGreaterThanOrEqual(1);
      const piped = await cli(['tenants', 'export', ids.tenantId], env);
      expect(piped.code).toBe(1);
      expect(piped.stderr).toMatch(
        /replica failed during the export.*--out <file>.*\[unavailable\]/s,
      );
      expect(proxy.cuts()).toBeGreaterThanOrEqual(2);
      const audited = await primaryPool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM admin.audit_log WHERE tenant_id = $1 AND action = 'tenant.exported'",
        [ids.tenantId],
      );
      expect(audited.rows[0]?.n).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('reads the primary, without waiting, when the replica was promoted (it may have diverged)', async () => {
    const promoted = await startReplica(primary);
    try {
      const client = await connectClient({ connectionString: promoted.url('postgres') });
      try {
        await client.query('SELECT pg_promote(true, 60)');
        const recovering = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
        expect(recovering.rows[0]?.r).toBe(false);
      } finally {
        await client.end();
      }
      const ids = await newTenant(15);
      const out = join(dir, `promoted-${uuidv7()}.ndjson`);
      const startedAt = performance.now();
      const r = await cli(['tenants', 'export', ids.tenantId, '--out', out, '--json'], {
        AGATE_REPLICA_URL: promoted.url('agate'),
        AGATE_REPLICA_WAIT_MS: '60000',
      });
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect((JSON.parse(r.stdout) as Summary).readFrom).toBe('primary');
      expect(performance.now() - startedAt).toBeLessThan(30_000);
      expect(eventSequences(await exportLines(out), ids.sessionId)).toEqual(oneTo(15));
    } finally {
      await promoted.stop();
    }
  });
});

describe('the player export with a replica', () => {
  it('is read from a caught-up replica over HTTP and in the CLI, equal to the primary’s', async () => {
    const ids = await newTenant(60);
    await replica.caughtUp(10_000);
    const expected = await exportPlayer(primaryPool, ids);
    const { body, from } = await exportOverHttp(ids);
    expect(from).toBe('replica');
    expect(body).toEqual(JSON.parse(JSON.stringify(expected)));
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /agate_replica_reads_total\{placement="shared",from="replica"\} [1-9]/,
    );
    await replica.caughtUp(10_000);
    const r = await cli(['gdpr', 'export', ids.playerId, '--tenant', ids.tenantId]);
    expect([r.code, r.stderr]).toEqual([0, 'Read from the replica.\n']);
    expect((JSON.parse(r.stdout) as { events: unknown[] }).events).toHaveLength(60);
  });

  it('is read from the primary, with every event, when the replica is paused behind or stopped', async () => {
    const ids = await newTenant(10);
    await replica.caughtUp(10_000);
    await replicaPool.query('SELECT pg_wal_replay_pause()');
    try {
      const last = await append(ids, 15);
      const paused = await exportOverHttp(ids);
      expect(paused.from).toBe('primary');
      expect(paused.body.events.map((e) => e.sequence)).toEqual(oneTo(last));
    } finally {
      await replicaPool.query('SELECT pg_wal_replay_resume()');
    }
    await replica.kill();
    try {
      const last = await append(ids, 5);
      const stopped = await exportOverHttp(ids);
      expect(stopped.from).toBe('primary');
      expect(stopped.body.events.map((e) => e.sequence)).toEqual(oneTo(last));
    } finally {
      await replica.start();
    }
    await replica.caughtUp(10_000);
  });
});
