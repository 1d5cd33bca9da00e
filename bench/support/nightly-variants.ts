import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { defaultGames } from '../../src/game/index.js';
import { queueDispatch, runNightly } from '../../src/jobs/nightly/index.js';
import type { NightlyResult, NightlySummary } from '../../src/jobs/nightly/index.js';
import {
  createSnapshotProducer,
  snapshotQueueName,
  workerConnectionOptions,
} from '../../src/jobs/queue/index.js';
import type { SnapshotProducer } from '../../src/jobs/queue/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { startWorkerChildren } from './worker-children.js';
import type { WorkerChild, WorkerReport } from './worker-children.js';
import type { LoadedSession } from './yesterday-sessions.js';

/** How the nightly run's snapshots are written: in its own process (0 workers) or by the queue. */
export type NightlyVariant = { id: string; label: string; workers: number };

export const nightlyVariants: readonly NightlyVariant[] = [
  { id: 'inline', label: 'inline (no Redis)', workers: 0 },
  { id: 'queue-1w', label: 'queue, 1 worker process', workers: 1 },
  { id: 'queue-2w', label: 'queue, 2 worker processes', workers: 2 },
];

export type VariantContext = {
  url: string;
  redisUrl: string;
  /** This bench run's Redis prefix; each variant queues under `<prefix>-<variant id>`. */
  prefix: string;
  sessions: readonly LoadedSession[];
  now: Date;
  workerConcurrency: number;
  waitTimeoutMs: number;
};

export type NightlyRun = {
  variant: string;
  label: string;
  sessions: number;
  /** From the start of runNightly until the last snapshot was written. */
  wallMs: number;
  /** Until runNightly returned (for the queue: everything enqueued, not written). */
  nightlyMs: number;
  sessionsPerSec: number;
  summary: NightlySummary;
  /** Snapshot batches handed to the queue, and those written in process because it timed out. */
  batches: { queued: number; unavailable: number };
  workers: WorkerReport[];
  /** md5 over every session's snapshot state hash, in session order: the variants must agree. */
  snapshotDigest: string;
  problems: string[];
};

type Timed = { result: NightlyResult; nightlyMs: number; wallMs: number };
type Tally = { queued: number; unavailable: number };

const pollMs = 25;

/** Every session has one snapshot, a day_boundary one at its last sequence, and nothing else. */
const checkSql = `
  WITH per AS (
    SELECT s.id, count(n.id) AS total,
           count(n.id) FILTER (WHERE n.reason = 'day_boundary' AND n.sequence = s.last_sequence) AS at_last,
           min(encode(n.state_hash, 'hex')) AS state_hash
      FROM game.sessions s LEFT JOIN game.snapshots n ON n.session_id = s.id
     GROUP BY s.id)
  SELECT count(*)::int AS sessions,
         count(*) FILTER (WHERE total = 1 AND at_last = 1)::int AS good,
         md5(string_agg(id::text || ':' || coalesce(state_hash, '-'), ',' ORDER BY id)) AS digest
    FROM per`;

async function checkSnapshots(
  pool: Pool,
  expected: number,
): Promise<{ digest: string; problems: string[] }> {
  const r = await pool.query<{ sessions: number; good: number; digest: string }>(checkSql);
  const row = r.rows[0];
  if (row === undefined) throw new Error('the snapshot check returned no row');
  const problems: string[] = [];
  if (row.sessions !== expected) problems.push(`${row.sessions} sessions stored, not ${expected}`);
  if (row.good !== row.sessions) {
    problems.push(
      `${row.sessions - row.good} of ${row.sessions} sessions lack exactly one day_boundary snapshot at their last sequence`,
    );
  }
  return { digest: row.digest, problems };
}

async function countSnapshots(pool: Pool): Promise<number> {
  const r = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM game.snapshots');
  return r.rows[0]?.n ?? 0;
}

/** Polls the snapshot count every 25 ms until `expected`; gives up on a failed job or the deadline. */
async function waitForSnapshots(
  pool: Pool,
  queue: Queue,
  expected: number,
  deadline: number,
): Promise<void> {
  for (let polls = 1; ; polls += 1) {
    const written = await countSnapshots(pool);
    if (written >= expected) return;
    if (polls % 40 === 0) {
      const counts = await queue.getJobCounts('failed');
      if ((counts.failed ?? 0) > 0) throw new Error(`${counts.failed} snapshot job(s) failed`);
    }
    if (performance.now() > deadline) {
      throw new Error(`only ${written} of ${expected} snapshots written before the deadline`);
    }
    await sleep(pollMs);
  }
}

function counting(producer: SnapshotProducer, tally: Tally): SnapshotProducer {
  return {
    async enqueue(targets) {
      const outcome = await producer.enqueue(targets);
      tally[outcome] += 1;
      return outcome;
    },
    close: () => producer.close(),
  };
}

function summaryOf(result: NightlyResult): NightlySummary {
  if (!result.ran) throw new Error(`the nightly run did not run: ${result.message}`);
  return result.summary;
}

async function timeInline(agate: Agate, ctx: VariantContext): Promise<Timed> {
  const t0 = performance.now();
  const result = await runNightly(agate, ctx.url, { now: ctx.now });
  const nightlyMs = performance.now() - t0;
  return { result, nightlyMs, wallMs: nightlyMs };
}

async function stopAll(workers: readonly WorkerChild[]): Promise<WorkerReport[]> {
  const stopped = await Promise.allSettled(workers.map((w) => w.stop()));
  const failure = stopped.find((s) => s.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return stopped.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}

async function timeQueued(
  agate: Agate,
  variant: NightlyVariant,
  ctx: VariantContext,
  tally: Tally,
): Promise<Timed & { workers: WorkerReport[] }> {
  const prefix = `${ctx.prefix}-${variant.id}`;
  const connection = { url: ctx.redisUrl, prefix };
  const queue = new Queue(snapshotQueueName, {
    connection: workerConnectionOptions(ctx.redisUrl),
    prefix,
  });
  const env = { databaseUrl: ctx.url, redisUrl: ctx.redisUrl, prefix };
  const workers = await startWorkerChildren(variant.workers, {
    ...env,
    concurrency: ctx.workerConcurrency,
  });
  const onError = (error: Error) => console.error(`  snapshot producer: ${error.message}`);
  const producer = counting(createSnapshotProducer({ ...connection, onError }), tally);
  let timed: Timed | undefined;
  let reports: WorkerReport[];
  try {
    await queue.waitUntilReady();
    const t0 = performance.now();
    const result = await runNightly(agate, ctx.url, {
      now: ctx.now,
      dispatch: queueDispatch(agate, producer),
    });
    const nightlyMs = performance.now() - t0;
    const s = summaryOf(result);
    const expected = s.daySnapshots.targets + s.intervalSnapshots.targets;
    await waitForSnapshots(agate.pool, queue, expected, t0 + ctx.waitTimeoutMs);
    timed = { result, nightlyMs, wallMs: performance.now() - t0 };
  } finally {
    await producer.close();
    reports = await stopAll(workers);
    await queue.obliterate({ force: true });
    await queue.close();
  }
  return { ...timed, workers: reports };
}

function runProblems(run: Omit<NightlyRun, 'problems'>): string[] {
  const { summary: s, sessions, variant } = run;
  const problems: string[] = [];
  const expect = (what: string, got: number, want: number) => {
    if (got !== want) problems.push(`${variant}: ${what} ${got}, expected ${want}`);
  };
  expect('day-boundary targets', s.daySnapshots.targets, sessions);
  expect('interval targets', s.intervalSnapshots.targets, 0);
  expect('anchors recorded', s.anchors.recorded, sessions);
  expect('audit divergences', s.audit.divergences.length, 0);
  expect('full verification divergences', s.fullVerify.divergences.length, 0);
  expect('snapshots audited', s.audit.snapshots, sessions);
  expect(
    'failed snapshot jobs',
    run.workers.reduce((n, w) => n + w.failed, 0),
    0,
  );
  return problems;
}

/** One timed nightly run over the database at `ctx.url`, checked afterwards. */
export async function runVariant(
  variant: NightlyVariant,
  ctx: VariantContext,
): Promise<NightlyRun> {
  const pool = createPool({ connectionString: ctx.url, applicationName: 'agate-bench-nightly' });
  try {
    await pool.query('SELECT 1');
    const agate = createAgate({ pool, games: defaultGames, consumers: false });
    const tally: Tally = { queued: 0, unavailable: 0 };
    const timed =
      variant.workers === 0
        ? { ...(await timeInline(agate, ctx)), workers: [] }
        : await timeQueued(agate, variant, ctx, tally);
    const checked = await checkSnapshots(pool, ctx.sessions.length);
    const run = {
      variant: variant.id,
      label: variant.label,
      sessions: ctx.sessions.length,
      wallMs: timed.wallMs,
      nightlyMs: timed.nightlyMs,
      sessionsPerSec: (ctx.sessions.length * 1000) / timed.wallMs,
      summary: summaryOf(timed.result),
      batches: tally,
      workers: timed.workers,
      snapshotDigest: checked.digest,
    };
    return { ...run, problems: [...checked.problems, ...runProblems(run)] };
  } finally {
    await pool.end();
  }
}
