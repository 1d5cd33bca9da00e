// One snapshot worker process of the nightly bench: what `agate worker` runs for snapshots
// (startSnapshotWorker over its own pool), without the nightly scheduler.
// Usage: node --import tsx bench/support/snapshot-worker-child.ts
//   env DATABASE_URL, REDIS_URL, AGATE_QUEUE_PREFIX, AGATE_BENCH_CONCURRENCY (default 2)
// Prints "ready" once connected, and one JSON line (WorkerReport) after SIGTERM.
import { createPool } from '../../src/db/index.js';
import { defaultGames } from '../../src/game/index.js';
import { startSnapshotWorker, WorkerSupervisor } from '../../src/jobs/queue/index.js';
import type { WorkerReport } from './worker-children.js';

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (value === undefined || value.length === 0) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const databaseUrl = required('DATABASE_URL');
  const concurrency = Number(process.env.AGATE_BENCH_CONCURRENCY ?? '2');
  const pool = createPool({ connectionString: databaseUrl, applicationName: 'agate-bench-worker' });
  const report: WorkerReport = { pid: process.pid, completed: 0, failed: 0, created: 0 };
  try {
    await pool.query('SELECT 1');
    const worker = startSnapshotWorker({
      url: required('REDIS_URL'),
      prefix: required('AGATE_QUEUE_PREFIX'),
      deps: { pool, games: defaultGames },
      concurrency,
    });
    worker.on('completed', (_job, written) => {
      report.completed += 1;
      if (written.created) report.created += 1;
    });
    worker.on('failed', (job, error) => {
      report.failed += 1;
      console.error(`snapshot job ${job?.id ?? '?'} failed: ${error.message}`);
    });
    const supervisor = new WorkerSupervisor([worker]);
    await worker.waitUntilReady();
    process.stdout.write('ready\n');
    await supervisor.closed;
  } finally {
    await pool.end();
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
