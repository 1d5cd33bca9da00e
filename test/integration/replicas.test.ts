// Reads from a streaming replica (issue 19, ADR 0033): replays and event reads go to the
// placement's replica, with read-your-writes by sequence, and fall back to the primary when the
// replica is behind or away. This file starts its own primary and a replica of it.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { connectClient, createPool, migrate } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { createKey } from '../../src/keys/index.js';
import { createPlacementRouter } from '../../src/placements/index.js';
import type { PlacementRouter } from '../../src/placements/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { inc } from '../support/api.js';
import { startPostgres, startReplica } from '../support/pg-servers.js';
import type { PgReplica, PgServer } from '../support/pg-servers.js';
import { tinyGames } from '../support/tiny-rules.js';

let primary: PgServer;
let replica: PgReplica;
let primaryPool: Pool;
let replicaPool: Pool;
let primaryAgate: Agate;
let replicaAgate: Agate;
let router: PlacementRouter<Agate>;
let app: ReturnType<typeof createServer>;
let writer: string;
let analyst: string;
let tenantId: string;

type Reply = { status: number; json: Record<string, unknown>; from: unknown };

async function call(method: 'GET' | 'POST', url: string, key: string, body?: object) {
  const raw = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  const reply: Reply = {
    status: raw.statusCode,
    json: JSON.parse(raw.body) as Record<string, unknown>,
    from: raw.headers['x-agate-read-from'],
  };
  return reply;
}

async function newSession(): Promise<string> {
  const created = await call('POST', '/v1/sessions', writer, {});
  expect(created.status).toBe(201);
  return created.json.id as string;
}

async function append(sessionId: string, count: number): Promise<number> {
  const events = Array.from({ length: count }, (_, i) => inc(i + 1));
  const appended = await call('POST', `/v1/sessions/${sessionId}/events`, writer, { events });
  expect(appended.status).toBe(201);
  return appended.json.lastSequence as number;
}

beforeAll(async () => {
  primary = await startPostgres({ name: 'replicated' });
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
    replicaWaitMs: 2_000,
    logger: pino({ level: 'silent' }),
    rateLimit: null,
  });
  await app.ready();
  const tenant = await createTenant(primaryPool, { name: 'replicated', actor: 'test' });
  tenantId = tenant.id;
  writer = (
    await createKey(primaryPool, { tenantId: tenant.id, role: 'game_server', actor: 'test' })
  ).key;
  analyst = (await createKey(primaryPool, { tenantId: tenant.id, role: 'analyst', actor: 'test' }))
    .key;
});

afterAll(async () => {
  await app.close();
  await router.close();
  await primaryAgate.close();
  await replicaAgate.close();
  await Promise.all([primaryPool.end(), replicaPool.end()]);
  await replica.stop();
  await primary.stop();
});

describe('reads from the replica', () => {
  it('replays there, on a server in recovery, to the primary’s state; the audit entry is the primary’s', async () => {
    const sessionId = await newSession();
    const last = await append(sessionId, 60);
    const recovering = await replicaPool.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    expect(recovering.rows[0]?.r).toBe(true);
    const audits = async () =>
      (await primaryPool.query<{ n: number }>('SELECT count(*)::int AS n FROM admin.audit_log'))
        .rows[0]?.n;
    const before = await audits();
    const replayed = await call(
      'GET',
      `/v1/sessions/${sessionId}/replay?verify=true&minSequence=${last}`,
      analyst,
    );
    expect(replayed.status).toBe(200);
    expect(replayed.from).toBe('replica');
    const onPrimary = await primaryAgate.replay({
      tenantId,
      sessionId,
      role: 'agate_analyst',
      verify: true,
    });
    expect(replayed.json).toMatchObject({
      sequence: 60,
      verified: true,
      stateHash: onPrimary.stateHash,
    });
    expect(await audits()).toBe((before ?? 0) + 1);
  });

  it('never answers with less than the sequence a read names, after each append of a run', async () => {
    const sessionId = await newSession();
    const served = { replica: 0, primary: 0 };
    for (let i = 0; i < 40; i += 1) {
      const last = await append(sessionId, 1 + (i % 3));
      const page = await call(
        'GET',
        `/v1/sessions/${sessionId}/events?after=${last - 1}&minSequence=${last}`,
        writer,
      );
      expect(page.status).toBe(200);
      expect((page.json.events as { sequence: number }[]).map((e) => e.sequence)).toEqual([last]);
      const replayed = await call(
        'GET',
        `/v1/sessions/${sessionId}/replay?minSequence=${last}`,
        analyst,
      );
      expect(replayed.json.sequence).toBeGreaterThanOrEqual(last);
      for (const from of [page.from, replayed.from]) {
        expect(['replica', 'primary']).toContain(from);
        served[from as 'replica' | 'primary'] += 1;
      }
    }
    // The replica replays within milliseconds here; it served nearly all of them.
    console.log(
      `replica reads: ${served.replica} of ${served.replica + served.primary} served by the replica`,
    );
    expect(served.replica / (served.replica + served.primary)).toBeGreaterThan(0.5);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /agate_replica_reads_total\{placement="shared",from="replica"\} [1-9]/,
    );
    expect(metrics.body).toMatch(/agate_replica_lag_bytes\{placement="shared"\} \d+/);
  });

  it('answers a read naming a sequence a paused replica lacks from the primary, and only that one', async () => {
    const sessionId = await newSession();
    const first = await append(sessionId, 2);
    await replica.caughtUp(10_000);
    await replicaPool.query('SELECT pg_wal_replay_pause()');
    try {
      const last = await append(sessionId, 3);
      // Without a sequence the replica answers as it is: behind, which shows it is paused.
      const stale = await call('GET', `/v1/sessions/${sessionId}/events`, writer);
      expect([stale.from, (stale.json.events as unknown[]).length]).toEqual(['replica', first]);
      const fresh = await call(
        'GET',
        `/v1/sessions/${sessionId}/events?minSequence=${last}`,
        writer,
      );
      expect([fresh.from, (fresh.json.events as unknown[]).length]).toEqual(['primary', last]);
      const replayed = await call(
        'GET',
        `/v1/sessions/${sessionId}/replay?minSequence=${last}`,
        analyst,
      );
      expect([replayed.from, replayed.json.sequence]).toEqual(['primary', last]);
    } finally {
      await replicaPool.query('SELECT pg_wal_replay_resume()');
    }
  });

  it('falls back to the primary when the replica is stopped, and back to the replica after', async () => {
    const sessionId = await newSession();
    const first = await append(sessionId, 5);
    await replica.kill();
    try {
      const last = await append(sessionId, 5);
      const page = await call(
        'GET',
        `/v1/sessions/${sessionId}/events?minSequence=${last}`,
        writer,
      );
      expect(page.status).toBe(200);
      expect(page.from).toBe('primary');
      expect((page.json.events as unknown[]).length).toBe(last);
      const replayed = await call('GET', `/v1/sessions/${sessionId}/replay`, analyst);
      expect([replayed.status, replayed.from, replayed.json.sequence]).toEqual([
        200,
        'primary',
        last,
      ]);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(JSON.parse(ready.body)).toMatchObject({
        replicas: { shared: { status: 'down', lagBytes: null } },
      });
      expect(first).toBe(5);
    } finally {
      await replica.start();
    }
    await replica.caughtUp(10_000);
    const again = await call('GET', `/v1/sessions/${sessionId}/events?minSequence=10`, writer);
    expect([again.status, again.from]).toEqual([200, 'replica']);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(JSON.parse(ready.body)).toMatchObject({ replicas: { shared: { status: 'up' } } });
  });

  it('waits for a replica behind the named sequence only as long as it is told, then asks the primary', async () => {
    const sessionId = await newSession();
    const last = await append(sessionId, 3);
    // A sequence no append has reached yet: the replica never gets there; the primary answers.
    const startedAt = performance.now();
    const page = await call(
      'GET',
      `/v1/sessions/${sessionId}/events?minSequence=${last + 100}`,
      writer,
    );
    const waited = performance.now() - startedAt;
    expect([page.status, page.from]).toEqual([200, 'primary']);
    expect(waited).toBeGreaterThanOrEqual(1_990);
  });
});
