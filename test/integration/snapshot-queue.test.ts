import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Job, Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createEventStore } from '../../src/events/index.js';
import type { NewEvent } from '../../src/events/index.js';
import {
  createSnapshotProducer,
  snapshotJobId,
  snapshotQueueName,
  startSnapshotWorker,
  workerConnectionOptions,
  WorkerSupervisor,
} from '../../src/jobs/queue/index.js';
import type { SnapshotProducer, SnapshotWorker } from '../../src/jobs/queue/index.js';
import { queueDispatch } from '../../src/jobs/nightly/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { snapshotBoundaries } from '../../src/snapshots/index.js';
import type { SnapshotTarget } from '../../src/snapshots/index.js';
import { createTenant } from '../../src/tenants/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames, tinyRules } from '../support/tiny-rules.js';

const redisUrl = process.env.AGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let db: TestDatabase;
let agate: Agate;
let deps: ReplayDeps;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
  deps = { pool: db.pool, games: tinyGames };
  tenantId = (await createTenant(db.pool, { name: 'snapshot queue', actor: 'test' })).id;
});
afterAll(() => db.drop());

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const note = (): NewEvent => ({ type: 'note.written', data: { text: 'day' } });

/** `count` events with a day boundary at each of `notesAt`, and the snapshots they call for. */
function eventsWith(count: number, notesAt: readonly number[]): NewEvent[] {
  return Array.from({ length: count }, (_, i) => (notesAt.includes(i + 1) ? note() : inc(i)));
}

function targetsOf(sessionId: string, events: readonly NewEvent[]): SnapshotTarget[] {
  const types = events.map((e) => e.type);
  return snapshotBoundaries(1, types, tinyRules.dayBoundaryTypes).map((b) => ({
    tenantId,
    sessionId,
    ...b,
  }));
}

async function sessionWith(events: NewEvent[]): Promise<{ id: string; targets: SnapshotTarget[] }> {
  const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
  expect((await agate.store.appendEvents({ tenantId, sessionId: s.id, events })).ok).toBe(true);
  return { id: s.id, targets: targetsOf(s.id, events) };
}

async function snapshotsOf(sessionId: string): Promise<{ sequence: number; reason: string }[]> {
  const r = await db.pool.query<{ sequence: number; reason: string }>(
    'SELECT sequence, reason FROM game.snapshots WHERE session_id = $1 ORDER BY sequence',
    [sessionId],
  );
  return r.rows;
}

const rowsOf = (targets: readonly SnapshotTarget[]) =>
  targets.map(({ sequence, reason }) => ({ sequence, reason }));

type Harness = {
  queue: Queue;
  events: QueueEvents;
  producer: SnapshotProducer;
  startWorker(): SnapshotWorker;
  finished(targets: readonly SnapshotTarget[]): Promise<void>;
};

/** A queue under a prefix of its own; workers, queue and keys are gone when the test ends. */
async function harness(): Promise<Harness> {
  const prefix = `agate-test-${randomBytes(6).toString('hex')}`;
  const connection = workerConnectionOptions(redisUrl);
  const queue = new Queue(snapshotQueueName, { connection, prefix });
  // Reads the prefix's whole event stream, so no completion is missed however early it comes.
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
    queue,
    events,
    producer,
    startWorker() {
      const worker = startSnapshotWorker({ url: redisUrl, prefix, deps, concurrency: 2 });
      workers.push(worker);
      return worker;
    },
    async finished(targets) {
      for (const target of targets) {
        const job = await Job.fromId(queue, snapshotJobId(target));
        if (job === undefined) throw new Error(`no job ${snapshotJobId(target)}`);
        await job.waitUntilFinished(events, 20_000);
      }
    },
  };
}

describe('snapshot queue', () => {
  it('writes each enqueued boundary once in a worker, however often it is enqueued', async () => {
    const h = await harness();
    const a = await sessionWith(eventsWith(120, [10, 50, 77]));
    const b = await sessionWith(eventsWith(30, [3, 4]));
    const targets = [...a.targets, ...b.targets];
    expect(rowsOf(a.targets)).toEqual([
      { sequence: 10, reason: 'day_boundary' },
      { sequence: 50, reason: 'interval' },
      { sequence: 77, reason: 'day_boundary' },
      { sequence: 100, reason: 'interval' },
    ]);

    expect(await h.producer.enqueue(targets)).toBe('queued');
    expect(await h.producer.enqueue(targets.slice(1, 4))).toBe('queued');
    expect(await h.queue.getJobCounts('wait', 'active', 'completed')).toMatchObject({
      wait: targets.length,
    });

    h.startWorker();
    await h.finished(targets);
    expect(await h.producer.enqueue(targets)).toBe('queued');
    expect(await h.queue.getJobCounts('wait', 'active', 'completed', 'failed')).toEqual({
      wait: 0,
      active: 0,
      completed: targets.length,
      failed: 0,
    });
    expect(await snapshotsOf(a.id)).toEqual(rowsOf(a.targets));
    expect(await snapshotsOf(b.id)).toEqual(rowsOf(b.targets));
    const verified = await agate.replay({ tenantId, sessionId: a.id, verify: true });
    expect(verified).toMatchObject({ verified: true, divergences: [] });
  });

  it('answers unavailable within the timeout when Redis is unreachable', async () => {
    const producer = createSnapshotProducer({
      url: 'redis://127.0.0.1:1',
      prefix: `agate-test-${randomBytes(6).toString('hex')}`,
      timeoutMs: 300,
    });
    onTestFinished(() => producer.close());
    const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
    const started = performance.now();
    const events = eventsWith(55, [7, 51]);
    expect(await producer.enqueue(targetsOf(s.id, events))).toBe('unavailable');
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('answers unavailable after the timeout when Redis accepts but never replies', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const producer = createSnapshotProducer({
      url: `redis://127.0.0.1:${address.port}`,
      prefix: `agate-test-${randomBytes(6).toString('hex')}`,
      timeoutMs: 200,
    });
    onTestFinished(async () => {
      await producer.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const target = { tenantId, sessionId: randomUUID(), sequence: 1, reason: 'manual' } as const;

    const started = performance.now();
    expect(await producer.enqueue([target])).toBe('unavailable');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(500);
  });

  it('fails a job with bad data or a missing session on its first attempt, without retry', async () => {
    const h = await harness();
    const bad = await h.queue.add(
      'snapshot',
      { sessionId: 'not-a-session', sequence: -1 },
      { jobId: 'snap_bad', attempts: 5, removeOnFail: false },
    );
    const missing = { tenantId, sessionId: randomUUID(), sequence: 3, reason: 'interval' } as const;
    expect(await h.producer.enqueue([missing])).toBe('queued');
    h.startWorker();

    await expect(bad.waitUntilFinished(h.events, 20_000)).rejects.toThrow(/invalid data/);
    const job = await Job.fromId(h.queue, snapshotJobId(missing));
    await expect(job?.waitUntilFinished(h.events, 20_000)).rejects.toThrow(/session_not_found/);
    for (const id of ['snap_bad', snapshotJobId(missing)]) {
      const failed = await Job.fromId(h.queue, id);
      expect(await failed?.getState()).toBe('failed');
      expect(failed?.attemptsMade).toBe(1);
    }
  });
});

describe('a snapshot job that failed for good', () => {
  it('does not block the nightly dispatch from writing that snapshot', async () => {
    const h = await harness();
    const events = eventsWith(50, []);
    const { id, targets } = await sessionWith(events);
    const [target] = targets;
    if (target === undefined) throw new Error('a 50-event session has a boundary');
    // The append path's job for this boundary failed for good; its record is kept (and blocks
    // its id): here it is planted as a failed job with the same id.
    const failed = await h.queue.add('snapshot', { bad: true }, { jobId: snapshotJobId(target) });
    h.startWorker();
    await expect(failed.waitUntilFinished(h.events, 20_000)).rejects.toThrow(/invalid data/);
    expect(await h.producer.enqueue([target])).toBe('queued');
    expect(await (await Job.fromId(h.queue, snapshotJobId(target)))?.getState()).toBe('failed');

    await queueDispatch(agate, h.producer)([target]);
    const [repair] = await h.queue.getJobs(['waiting', 'active', 'completed', 'delayed']);
    expect(repair?.id).toMatch(new RegExp(`^${snapshotJobId(target)}_n`));
    await repair?.waitUntilFinished(h.events, 20_000);
    expect(await snapshotsOf(id)).toEqual(rowsOf(targets));
  });
});

describe('worker supervisor', () => {
  it('closes every worker once on SIGTERM, then settles closed', async () => {
    const signals = new EventEmitter();
    let finishJob: () => void = () => {};
    const slow = { close: vi.fn(() => new Promise<void>((resolve) => (finishJob = resolve))) };
    const quick = { close: vi.fn(() => Promise.resolve()) };
    const supervisor = new WorkerSupervisor([slow, quick], { source: signals });
    let closed = false;
    const settled = supervisor.closed.then(() => (closed = true));

    signals.emit('SIGTERM');
    signals.emit('SIGINT');
    await nextTurn(); // let every settled promise run: the slow close still holds `closed`
    expect(closed).toBe(false);
    finishJob();
    await settled;
    expect(slow.close).toHaveBeenCalledTimes(1);
    expect(quick.close).toHaveBeenCalledTimes(1);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
    await supervisor.stop();
    expect(slow.close).toHaveBeenCalledTimes(1);
  });
});
