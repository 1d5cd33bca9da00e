import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import {
  defaultNightlyPattern,
  registerNightlySchedule,
  startNightlyWorker,
} from '../jobs/nightly/index.js';
import { startSnapshotWorker, WorkerSupervisor } from '../jobs/queue/index.js';
import { openAgate, requireRedis } from './open-agate.js';
import { requireServerDatabase } from './open-database.js';

function positive(value: string): number {
  if (!/^[1-9]\d*$/.test(value))
    throw new InvalidArgumentError('--concurrency must be a positive whole number.');
  return Number(value);
}

export function addWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run the snapshot workers and the nightly job (REDIS_URL); SIGTERM finishes current jobs and exits',
    )
    .option('--concurrency <n>', 'snapshot jobs at once', positive, 2)
    .action(async (flags: { concurrency: number }) => {
      requireServerDatabase(process.env, 'worker');
      const opened = await openAgate(process.env);
      try {
        const redis = requireRedis(opened, 'worker');
        const connection = { url: redis.url, prefix: redis.prefix };
        const pattern = process.env.AGATE_NIGHTLY_CRON?.trim() || defaultNightlyPattern;
        await registerNightlySchedule(connection, pattern);
        const deps = {
          pool: opened.agate.pool,
          store: opened.agate.store,
          games: opened.agate.games,
        };
        const supervisor = new WorkerSupervisor([
          startSnapshotWorker({ ...connection, deps, concurrency: flags.concurrency }),
          startNightlyWorker(connection, opened.agate, opened.url, redis.producer),
        ]);
        console.log(
          `agate worker: snapshots (concurrency ${flags.concurrency}) and the nightly job (${pattern} UTC) on queue prefix ${redis.prefix}; SIGTERM to stop`,
        );
        await supervisor.closed;
        console.log('agate worker: current jobs finished, exiting');
      } finally {
        await opened.close();
      }
    });
}
