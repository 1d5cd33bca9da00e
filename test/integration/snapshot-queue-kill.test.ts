import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Job, Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { NewEvent } from '../../src/events/index.js';
import {
  createSnapshotProducer,
  snapshotJobId,
  snapshotQueueName,
  startSnapshotWorker,
  workerConnectionOptions,
} from '../../src/jobs/queue/index.js';
import type { SnapshotProducer, SnapshotWorker } from '../../src/jobs/queue/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { snapshotBoundaries } from '../../src/snapshots/index.js';
import type { SnapshotTarget } from '../../src/snapshots/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { repoRoot } from '../support/run-cli.js';
import { slowSnapshotWrites } from '../support/slow-snapshots.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames, tinyRules } from '../support/tiny-rules.js';

const redisUrl = process.env.AGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const childEntry = fileURLToPath(new URL('../support/worker-child.ts', import.meta.url));

let db: TestDatabase;
let agate: Agate;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
  tenantId = (await createTenant(db.pool, { name: 'worker kill', actor: 'test' })).id;
  // Each snapshot insert takes 0.2 s longer, so the worker is surely killed with jobs in flight.
  await slowSnapshotWrites(db.pool, 0.2);
});
afterAll(() => db.drop());

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const note = (): NewEvent => ({ type: 'note.written', data: { text: 'day' } });

/** Sessions of 12 events with a day boundary at every even sequence: 6 snapshots each. */
async function sessions(count: number): Promise<{ id: string; targets: SnapshotTarget[] }[]> {
  const events = Array.from({ length: 12 }, (_, i) => ((i + 1) % 2 === 0 ? note() : inc(i)));
  const types = events.map((e) => e.type);
  return Promise.all(
    Array.from({ length: count }, async () => {
      const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
      expect((await agate.store.appendEvents({ tenantId, sessionId: s.id, events })).ok).toBe(true);
      const targets = snapshotBoundaries(1, types, tinyRules.dayBoundaryTypes).map((b) => ({
        tenantId,
        sessionId: s.id,
        ...b,
      }));
      return { id: s.id, targets };
    }),
  );
}

async function snapshotRows(sessionIds: readonly string[]) {
  const r = await db.pool.query<{ session_id: string; sequence: number; reason: string }>(
    `SELECT session_id, sequence, reason FROM game.snapshots
      WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, sequence`,
    [sessionIds],
  );
  return r.rows;
}

/** Polls a condition (not a fixed sleep) until it holds, for at most `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await pause(25);
  }
}

type Child = {
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal: NodeJS.Signals): void;
};

/** test/support/worker-child.ts as the only worker (each snapshot insert is slowed by 0.2 s). */
function spawnWorker(prefix: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', childEntry], {
    cwd: repoRoot,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      AGATE_QUEUE_PREFIX: prefix,
      AGATE_WORKER_CONCURRENCY: '3',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exited.then(({ code }) => reject(new Error(`worker child exited (${code}): ${stderr}`)));
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { ready, exited, kill: (signal) => child.kill(signal) };
}

type Harness = {
  prefix: string;
  queue: Queue;
  producer: SnapshotProducer;
  startWorker(): SnapshotWorker;
  finished(targets: readonly SnapshotTarget[]): Promise<void>;
};

async function harness(): Promise<Harness> {
  const prefix = `agate-test-${randomBytes(6).toString('hex')}`;
  const connection = workerConnectionOptions(redisUrl);
  const queue = new Queue(snapshotQueueName, { connection, prefix });
  const events = new QueueEvents(snapshotQueueName, { connection, prefix, lastEventId: '0-0' });
  const producer = createSnapshotProducer({ url: redisUrl, prefix });
  const workers: SnapshotWorker[] = [];
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  onTestFinished(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await producer.close();
    await queue.obliterate({ force: true });
    await Promise.all([events.close(), queue.close()]);
  });
  return {
    prefix,
    queue,
    producer,
    startWorker() {
      const deps = { pool: db.pool, store: agate.store, games: tinyGames };
      const worker = startSnapshotWorker({
        url: redisUrl,
        prefix,
        deps,
        concurrency: 4,
        stalledInterval: 1_000,
      });
      workers.push(worker);
      return worker;
    },
    async finished(targets) {
      for (const target of targets) {
        const job = await Job.fromId(queue, snapshotJobId(target));
        if (job === undefined) throw new Error(`no job ${snapshotJobId(target)}`);
        await job.waitUntilFinished(events, 30_000);
      }
    },
  };
}

describe('snapshot worker processes', () => {
  it('loses and duplicates nothing when a worker is SIGKILLed in the middle of a batch', async () => {
    const h = await harness();
    const all = await sessions(5);
    const targets = all.flatMap((s) => s.targets);
    const ids = all.map((s) => s.id);
    expect(targets).toHaveLength(30);
    const child = spawnWorker(h.prefix);
    await child.ready;
    expect(await h.producer.enqueue(targets)).toBe('queued');

    await waitFor('a few snapshots', async () => (await snapshotRows(ids)).length >= 4);
    child.kill('SIGKILL');
    expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
    expect((await snapshotRows(ids)).length).toBeLessThan(30);
    const active = (await h.queue.getJobCounts('active')).active ?? 0;
    expect(active).toBeGreaterThan(0); // the killed worker's jobs, left for the stalled check

    h.startWorker();
    await h.finished(targets);
    expect(await h.queue.getJobCounts('completed', 'failed')).toEqual({ completed: 30, failed: 0 });
    const jobs = await h.queue.getJobs(['completed']);
    expect(jobs.filter((j) => j.stalledCounter > 0)).toHaveLength(active);
    for (const session of all) {
      const rows = (await snapshotRows([session.id])).map(({ sequence, reason }) => ({
        sequence,
        reason,
      }));
      expect(rows).toEqual(session.targets.map(({ sequence, reason }) => ({ sequence, reason })));
    }
  });

  it('finishes its jobs in flight and exits cleanly on SIGTERM', async () => {
    const h = await harness();
    const all = await sessions(2);
    const targets = all.flatMap((s) => s.targets);
    const ids = all.map((s) => s.id);
    const child = spawnWorker(h.prefix);
    await child.ready;
    expect(await h.producer.enqueue(targets)).toBe('queued');

    await waitFor('a first snapshot', async () => (await snapshotRows(ids)).length >= 1);
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    const atExit = await h.queue.getJobCounts('active', 'completed');
    expect(atExit.active).toBe(0);
    expect(atExit.completed).toBeLessThan(targets.length);
    expect((await snapshotRows(ids)).length).toBe(atExit.completed);

    h.startWorker();
    await h.finished(targets);
    const jobs = await h.queue.getJobs(['completed']);
    expect(jobs).toHaveLength(targets.length);
    expect(jobs.every((j) => j.stalledCounter === 0)).toBe(true);
    expect(await snapshotRows(ids)).toHaveLength(targets.length);
  });
});
