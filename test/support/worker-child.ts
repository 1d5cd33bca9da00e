// A snapshot worker in a process of its own, for the tests that SIGKILL or SIGTERM one. Prints
// "ready" once connected and exits when its supervisor has closed the worker.
//   DATABASE_URL, REDIS_URL, AGATE_QUEUE_PREFIX   where the work is
//   AGATE_WORKER_CONCURRENCY                       jobs in flight (default 3)
import { createPool } from '../../src/db/index.js';
import { startSnapshotWorker, WorkerSupervisor } from '../../src/jobs/queue/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { tinyGames } from './tiny-rules.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`worker-child: set ${name}`);
  return value;
}

const concurrency = Number(process.env.AGATE_WORKER_CONCURRENCY ?? '3');
const pool = createPool({ connectionString: required('DATABASE_URL'), max: concurrency + 1 });
const deps: ReplayDeps = { pool, games: tinyGames };
const worker = startSnapshotWorker({
  url: required('REDIS_URL'),
  prefix: required('AGATE_QUEUE_PREFIX'),
  concurrency,
  deps,
  stalledInterval: 1_000,
  // Short, so that the jobs of a killed child are free for the stalled check within seconds.
  lockDuration: 2_000,
});
const supervisor = new WorkerSupervisor([worker]);
await worker.waitUntilReady();
process.stdout.write('ready\n');
await supervisor.closed;
await pool.end();
