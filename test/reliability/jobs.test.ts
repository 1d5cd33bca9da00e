// Jobs under faults (issue 9, item 3), the nightly job as a process of its own: SIGKILLed at each
// stage and in the middle of one, two runs at once, and its Redis cut mid-run, each compared with
// one clean run on an identical copy of the data (test/integration/nightly.test.ts checks the
// invariants after a kill; this checks equality with a clean run). The snapshot worker is in
// jobs-worker.test.ts. Uses the built CLI: npm run build first.
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { defaultGames } from '../../src/game/index.js';
import { nightlyStages, runNightly } from '../../src/jobs/nightly/index.js';
import type { NightlyResult } from '../../src/jobs/nightly/index.js';
import {
  snapshotQueueName,
  startSnapshotWorker,
  workerConnectionOptions,
} from '../../src/jobs/queue/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { redisUrl } from '../support/redis.js';
import { slowSnapshotWrites } from '../support/slow-snapshots.js';
import type { TestDatabase } from '../support/test-database.js';
import {
  copyOf,
  nightlyEndState,
  seedNightlyDatabase,
  sessionsThatDoNotVerify,
} from './support/jobs-databases.js';
import type { NightlyEndState, SeedDatabase } from './support/jobs-databases.js';
import { exitWithin, killLeftoverChildren, startCli, waitFor } from './support/jobs-processes.js';
import type { Child, Exit, OnFinished } from './support/jobs-processes.js';
import { startTcpProxy } from './support/jobs-tcp-proxy.js';
import { scaled } from './support/soak.js';
import { tally } from './support/tally.js';

let seed: SeedDatabase | undefined;
let clean: NightlyEndState;
let cleanSummary: Extract<NightlyResult, { ran: true }>['summary'];

/** `agate nightly --json`, in process (`--inline`) unless `inline` is false. */
const nightly = (env: Record<string, string>, onFinished?: OnFinished, inline = true): Child =>
  startCli(['nightly', ...(inline ? ['--inline'] : []), '--json'], env, onFinished);

function resultOf(exit: Exit): NightlyResult {
  const line = exit.output.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no JSON result in: ${exit.output}`);
  return JSON.parse(line) as NightlyResult;
}

/**
 * The run after a crash. In this process, as the CLI's `--inline` runs it: the killed runs and
 * the clean one are processes, and nightly.test.ts reruns the CLI after each failpoint already.
 */
async function rerun(db: TestDatabase): Promise<NightlyResult> {
  return runNightly(createAgate({ pool: db.pool, games: defaultGames, consumers: false }), db.url);
}

function seeded(): SeedDatabase {
  if (seed === undefined) throw new Error('the seed database was not created');
  return seed;
}

/** A copy of the seeded data, dropped when the test ends. */
async function copy(t: TestContext): Promise<TestDatabase> {
  const db = await copyOf(seeded());
  t.onTestFinished(() => db.drop());
  return db;
}

/** The end state equals the clean run's, and every session replays and verifies. */
async function expectCleanEndState(t: TestContext, db: TestDatabase, what: string): Promise<void> {
  const state = await nightlyEndState(db.pool);
  const failed = await sessionsThatDoNotVerify(db.pool);
  const differs = JSON.stringify(state) !== JSON.stringify(clean) || failed.length > 0;
  tally({
    section: 'jobs',
    what: 'nightly end states unlike one clean run',
    value: differs ? 1 : 0,
    mustBeZero: true,
  });
  t.expect(state, what).toEqual(clean);
  t.expect(failed, what).toEqual([]);
}

beforeAll(async () => {
  seed = await seedNightlyDatabase(scaled(8, 40));
  const db = await copyOf(seed);
  try {
    const exit = await exitWithin(nightly({ DATABASE_URL: db.url }), 60_000, 'the clean run');
    const result = resultOf(exit);
    if (exit.code !== 0 || !result.ran) throw new Error(`the clean run failed: ${exit.output}`);
    cleanSummary = result.summary;
    clean = await nightlyEndState(db.pool);
  } finally {
    await db.drop();
  }
});
afterAll(async () => {
  killLeftoverChildren();
  await seed?.drop();
});

describe('the nightly job as a process', () => {
  it('has work of every kind to do in the seeded data', () => {
    expect(cleanSummary.daySnapshots.targets).toBeGreaterThan(0);
    expect(cleanSummary.intervalSnapshots.targets).toBeGreaterThan(0);
    expect(cleanSummary.audit.divergences).toEqual([]);
    expect(cleanSummary.anchors.recorded).toBe(seeded().sessions);
    expect(new Set(clean.snapshots.map((s) => s.reason))).toEqual(
      new Set(['day_boundary', 'interval']),
    );
  });

  // Each on its own copy, so they run side by side: most of a run is process start-up.
  it.concurrent.for(nightlyStages)(
    'SIGKILLed at stage %s and run again, ends as one clean run on a copy does',
    async (stage, t) => {
      const db = await copy(t);
      const killed = await exitWithin(
        nightly({ DATABASE_URL: db.url, AGATE_FAILPOINT: stage }, t.onTestFinished),
        60_000,
        `the run with failpoint ${stage}`,
      );
      t.expect(killed.signal).toBe('SIGKILL');
      // The kill left work undone, which the rerun must finish (and nothing more).
      t.expect(await nightlyEndState(db.pool)).not.toEqual(clean);
      t.expect((await rerun(db)).ran).toBe(true);
      tally({
        section: 'jobs',
        what: 'nightly runs SIGKILLed at a failpoint, then rerun',
        value: 1,
      });
      await expectCleanEndState(t, db, `killed at ${stage}`);
    },
  );

  it('SIGKILLed in the middle of its day-boundary snapshots and run again, ends as one clean run', async (t) => {
    const db = await copy(t);
    await slowSnapshotWrites(db.pool, 0.1);
    const run = nightly({ DATABASE_URL: db.url }, t.onTestFinished);
    const count = async () =>
      (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM game.snapshots')).rows[0]
        ?.n ?? 0;
    await waitFor('two snapshots of the run', async () => (await count()) >= 2);
    run.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    expect(await count()).toBeLessThan(cleanSummary.daySnapshots.targets);
    expect((await rerun(db)).ran).toBe(true);
    tally({ section: 'jobs', what: 'nightly runs SIGKILLed mid-stage, then rerun', value: 1 });
    await expectCleanEndState(t, db, 'killed mid-stage');
  });

  it('run twice at once: one run answers locked, and the end state is one clean run', async (t) => {
    const db = await copy(t);
    // Inserts into game.snapshots wait on this lock: whichever run takes the nightly lock first is
    // held inside its day-boundary stage until the other has answered.
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE game.snapshots IN SHARE ROW EXCLUSIVE MODE');
      const runs = [0, 1].map(() => nightly({ DATABASE_URL: db.url }, t.onTestFinished));
      const first = await Promise.race(runs.map((r) => r.exited.then(() => r)));
      const loser = await first.exited;
      expect([loser.code, resultOf(loser)]).toMatchObject([0, { ran: false, reason: 'locked' }]);
      await blocker.query('COMMIT');
      const winner = await exitWithin(runs.find((r) => r !== first) ?? first, 60_000, 'winner');
      expect([winner.code, resultOf(winner).ran]).toEqual([0, true]);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
    tally({ section: 'jobs', what: 'nightly runs at once, one locked out', value: 1 });
    await expectCleanEndState(t, db, 'two runs at once');
  });

  it('with its Redis cut mid-run, finishes the snapshot work in process and ends as one clean run', async (t) => {
    const db = await copy(t);
    const prefix = `agate-test-jobs-${randomBytes(6).toString('hex')}`;
    const queue = new Queue(snapshotQueueName, {
      connection: workerConnectionOptions(redisUrl),
      prefix,
    });
    // A worker on the real Redis (only the run's proxy is cut), slowed by the database so that
    // the run is still waiting for its day-boundary jobs when its connection goes.
    await slowSnapshotWrites(db.pool, 0.1);
    const worker = startSnapshotWorker({
      url: redisUrl,
      prefix,
      deps: { pool: db.pool, games: defaultGames },
      concurrency: 2,
    });
    t.onTestFinished(async () => {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    });
    await worker.waitUntilReady();
    const proxy = await startTcpProxy(redisUrl);
    const env = { DATABASE_URL: db.url, REDIS_URL: proxy.url, AGATE_QUEUE_PREFIX: prefix };
    const run = nightly(env, t.onTestFinished, false);
    const queued = async () =>
      Object.values(await queue.getJobCounts('waiting', 'active', 'completed')).reduce(
        (a, b) => a + b,
        0,
      );
    await waitFor('the day-boundary jobs in the queue', async () => (await queued()) > 0);
    await proxy.cut();
    const exit = await exitWithin(run, 60_000, 'the run whose Redis was cut');
    const result = resultOf(exit);
    expect([exit.code, result.ran]).toEqual([0, true]);
    // The day-boundary jobs went through the queue; the interval ones, after the cut, did not.
    const jobs = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
    expect(jobs).toEqual({
      completed: cleanSummary.daySnapshots.targets,
      failed: 0,
      active: 0,
      waiting: 0,
      delayed: 0,
    });
    expect(result.ran && result.summary.daySnapshots).toEqual({
      targets: cleanSummary.daySnapshots.targets,
      pending: 0,
    });
    tally({ section: 'jobs', what: 'nightly runs with Redis cut mid-run', value: 1 });
    await expectCleanEndState(t, db, 'Redis cut mid-run');
  });
});
