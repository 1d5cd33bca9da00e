// Jobs under faults (issue 9, item 3), the snapshot worker: worker processes SIGKILLed in the middle
// of a queue and new processes started in their place must leave every snapshot once, each
// agreeing with a replay. test/integration/snapshot-queue-kill.test.ts proves one kill for 30 jobs
// taken over by an in-process worker; here: a long queue, process to process, and two kills in a
// row that catch the same job.
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import type { NewEvent } from '../../src/events/index.js';
import {
  createSnapshotProducer,
  snapshotQueueName,
  workerConnectionOptions,
} from '../../src/jobs/queue/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { snapshotBoundaries } from '../../src/snapshots/index.js';
import type { SnapshotTarget } from '../../src/snapshots/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { inc } from '../support/api.js';
import { redisUrl } from '../support/redis.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames, tinyRules } from '../support/tiny-rules.js';
import { slowSnapshotWrites } from '../support/slow-snapshots.js';
import { killLeftoverChildren, startWorkerChild, waitFor } from './support/jobs-processes.js';
import type { Child } from './support/jobs-processes.js';
import { scaled } from './support/soak.js';
import { tally } from './support/tally.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
  tenantId = (await createTenant(db.pool, { name: 'worker kill', actor: 'test' })).id;
});
afterAll(async () => {
  killLeftoverChildren();
  await db.drop();
});

const note = (): NewEvent => ({ type: 'note.written', data: { text: 'day' } });

/** Sessions of 12 events with a game-day end at every even sequence: 6 snapshot targets each. */
async function sessionTargets(count: number): Promise<SnapshotTarget[]> {
  const events = Array.from({ length: 12 }, (_, i) => ((i + 1) % 2 === 0 ? note() : inc(i)));
  const types = events.map((e) => e.type);
  const all: SnapshotTarget[] = [];
  for (let i = 0; i < count; i += 1) {
    const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
    const appended = await agate.store.appendEvents({ tenantId, sessionId: s.id, events });
    if (!appended.ok) throw new Error(`seeding failed: ${appended.message}`);
    const boundaries = snapshotBoundaries(1, types, tinyRules.dayBoundaryTypes);
    all.push(...boundaries.map((b) => ({ tenantId, sessionId: s.id, ...b })));
  }
  return all;
}

async function count(): Promise<number> {
  const r = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM game.snapshots');
  return r.rows[0]?.n ?? 0;
}

type Harness = {
  queue: Queue;
  enqueue(targets: readonly SnapshotTarget[]): Promise<void>;
  startWorker(): Promise<Child>;
  /** Waits until every job completed or failed; returns the counts. */
  settled(total: number): Promise<{ completed: number; failed: number }>;
};

/** A queue of its own prefix, a producer, and worker-child processes on it (4 jobs at once). */
function harness(t: TestContext): Harness {
  const prefix = `agate-test-jobs-${randomBytes(6).toString('hex')}`;
  const queue = new Queue(snapshotQueueName, {
    connection: workerConnectionOptions(redisUrl),
    prefix,
  });
  const producer = createSnapshotProducer({ url: redisUrl, prefix, timeoutMs: 5_000 });
  t.onTestFinished(async () => {
    await producer.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    AGATE_QUEUE_PREFIX: prefix,
    AGATE_WORKER_CONCURRENCY: '4',
  };
  return {
    queue,
    async enqueue(targets) {
      expect(await producer.enqueue(targets)).toBe('queued');
    },
    startWorker: () => startWorkerChild(env, t.onTestFinished),
    async settled(total) {
      const counts = async () => {
        const c = await queue.getJobCounts('completed', 'failed');
        return { completed: c.completed ?? 0, failed: c.failed ?? 0 };
      };
      await waitFor(
        'every job to finish',
        async () => {
          const c = await counts();
          return c.completed + c.failed >= total;
        },
        120_000,
      );
      return counts();
    },
  };
}

async function killed(child: Child): Promise<void> {
  child.kill('SIGKILL');
  expect((await child.exited).signal).toBe('SIGKILL');
}

type SnapshotRow = { session_id: string; sequence: number; reason: string };

/** The snapshots of the targets' sessions, and those sessions that do not replay and verify. */
async function endState(targets: readonly SnapshotTarget[]) {
  const sessionIds = [...new Set(targets.map((x) => x.sessionId))];
  const rows = await db.pool.query<SnapshotRow>(
    `SELECT session_id, sequence::int AS sequence, reason FROM game.snapshots
      WHERE session_id = ANY($1::uuid[]) ORDER BY session_id, sequence`,
    [sessionIds],
  );
  const unverified: string[] = [];
  for (const sessionId of sessionIds) {
    const replay = await agate.replay({ tenantId, sessionId, verify: true });
    if (replay.verified !== true) unverified.push(sessionId);
  }
  return { snapshots: rows.rows, unverified };
}

/** What one clean run leaves: each target's snapshot once, every session verifying. */
function cleanEndState(targets: readonly SnapshotTarget[]) {
  const snapshots = targets
    .map(({ sessionId, sequence, reason }) => ({ session_id: sessionId, sequence, reason }))
    .sort((a, b) => a.session_id.localeCompare(b.session_id) || a.sequence - b.sequence);
  return { snapshots, unverified: [] };
}

function tallyEnd(what: string, targets: readonly SnapshotTarget[], missing: number): void {
  tally(
    { section: 'jobs', what: `snapshot jobs through ${what}`, value: targets.length },
    {
      section: 'jobs',
      what: `snapshots missing after ${what}`,
      value: missing,
      mustBeZero: true,
    },
  );
}

describe('snapshot worker processes SIGKILLed mid-batch', () => {
  it('leave, once a new worker process has taken over, every snapshot exactly once and each agreeing with a replay', async (t) => {
    const targets = await sessionTargets(scaled(50, 300));
    // Each insert takes 20 ms longer, so that the worker is caught with jobs in flight.
    await slowSnapshotWrites(db.pool, 0.02);
    const h = harness(t);
    const first = await h.startWorker();
    await h.enqueue(targets);
    await waitFor('a quarter of the snapshots', async () => (await count()) >= targets.length / 4);
    await killed(first);
    const active = (await h.queue.getJobCounts('active')).active ?? 0;
    expect(await count()).toBeLessThan(targets.length);
    expect(active).toBeGreaterThan(0); // the killed worker's jobs, left for the stalled check

    const second = await h.startWorker();
    const counts = await h.settled(targets.length);
    const stalled = (await h.queue.getJobs(['completed'])).filter((j) => j.stalledCounter > 0);
    const state = await endState(targets);
    tally({ section: 'jobs', what: 'snapshot worker processes SIGKILLed mid-batch', value: 1 });
    tallyEnd('a worker kill', targets, targets.length - state.snapshots.length);
    expect(counts).toEqual({ completed: targets.length, failed: 0 });
    expect(stalled).toHaveLength(active);
    expect(state).toEqual(cleanEndState(targets));
    second.kill('SIGTERM');
    expect(await second.exited).toMatchObject({ code: 0, signal: null });
  });

  // Found by this file: BullMQ's default maxStalledCount of 1 failed a job caught in two killed
  // workers for good (its fixed id then blocked a re-enqueue); the worker now allows as many
  // stalls as attempts. Kept as a regression.
  it('leave every snapshot when two workers in a row are SIGKILLed with the same job in flight', async (t) => {
    const targets = await sessionTargets(1);
    // Two seconds per insert: each worker is surely killed inside the jobs it holds.
    await slowSnapshotWrites(db.pool, 2);
    const h = harness(t);
    const first = await h.startWorker();
    await h.enqueue(targets);
    await waitFor(
      'jobs in flight',
      async () => ((await h.queue.getJobCounts('active')).active ?? 0) >= 2,
    );
    await killed(first);
    const second = await h.startWorker();
    const takenOver = async () =>
      (await h.queue.getJobs(['active'])).some((j) => j.stalledCounter > 0);
    await waitFor('a job of the killed worker in flight again', takenOver);
    await killed(second);
    const third = await h.startWorker();
    await h.settled(targets.length);
    const jobs = await h.queue.getJobs(['completed', 'failed']);
    // The case under test happened: some job was in flight in both killed workers.
    expect(jobs.filter((j) => j.stalledCounter >= 2).length).toBeGreaterThan(0);
    const failed = (await h.queue.getJobs(['failed'])).map((j) => `${j.id}: ${j.failedReason}`);
    // What a producer or the nightly sweep would do about a missing snapshot: enqueue it again.
    await h.enqueue(targets);
    await waitFor('the queue to be idle', async () => {
      const c = await h.queue.getJobCounts('active', 'waiting', 'delayed');
      return (c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) === 0;
    });
    const state = await endState(targets);
    tally({ section: 'jobs', what: 'snapshot worker processes SIGKILLed mid-batch', value: 2 });
    tallyEnd('two worker kills in a row', targets, targets.length - state.snapshots.length);
    expect(state, `failed jobs: ${failed.join('; ')}`).toEqual(cleanEndState(targets));
    third.kill('SIGTERM');
    expect(await third.exited).toMatchObject({ code: 0, signal: null });
  });
});
