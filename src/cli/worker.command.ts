import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { applyNightlySchedule, startNightlyWorker } from '../jobs/nightly/index.js';
import { AgateError } from '../errors/index.js';
import { startSnapshotWorker, WorkerSupervisor } from '../jobs/queue/index.js';
import { describeGames } from './games.command.js';
import { openAgate, requireRedis } from './open-agate.js';
import { requireServerDatabase } from './open-database.js';

const logLevels = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function logLevel(value: string | undefined): string {
  const parsed = logLevels.safeParse(value?.trim() || 'info');
  if (parsed.success) return parsed.data;
  throw new AgateError(
    'invalid_request',
    `LOG_LEVEL must be one of ${logLevels.options.join(', ')}; it is "${value}".`,
  );
}

function positive(value: string): number {
  if (!/^[1-9]\d*$/.test(value))
    throw new InvalidArgumentError('--concurrency must be a positive whole number.');
  return Number(value);
}

export function addWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      "run agate's own feed consumers (snapshots, hot state, leaderboards), the snapshot workers and the nightly job (REDIS_URL); SIGTERM finishes current jobs and exits",
    )
    .option('--concurrency <n>', 'snapshot jobs at once', positive, 2)
    .option(
      '--replace-schedule',
      'make AGATE_NIGHTLY_CRON the nightly schedule of every worker, replacing the stored one',
    )
    .action(async (flags: { concurrency: number; replaceSchedule?: boolean }) => {
      requireServerDatabase(process.env, 'worker');
      const logger = pino({ level: logLevel(process.env.LOG_LEVEL) });
      const opened = await openAgate(process.env, {
        consumers: {
          onError: (error, where) =>
            logger.warn({ err: error, ...where }, 'agate consumer failed; it retries'),
        },
        placementChanges: {
          onError: (error) =>
            logger.warn({ err: error }, 'agate placement changes: not listening; reconnecting'),
        },
      });
      try {
        const redis = requireRedis(opened, 'worker');
        const connection = { url: redis.url, prefix: redis.prefix };
        const { pattern } = await applyNightlySchedule(
          opened.agate.pool,
          connection,
          process.env.AGATE_NIGHTLY_CRON?.trim() || null,
          { replace: flags.replaceSchedule, logger },
        );
        const deps = {
          pool: opened.agate.pool,
          store: opened.agate.store,
          games: opened.agate.games,
        };
        const supervisor = new WorkerSupervisor([
          startSnapshotWorker({ ...connection, deps, concurrency: flags.concurrency }),
          startNightlyWorker(connection, opened.agate, opened.url, redis.producer, {
            logger,
            placements: [...opened.servers].map(([name, url]) => ({
              placement: `database:${name}`,
              agate: opened.placements.agateOf(`database:${name}`),
              url,
            })),
          }),
        ]);
        console.log(
          `agate worker: agate's own feed consumers, snapshot jobs (concurrency ${flags.concurrency}) and the nightly job (${pattern} UTC) on queue prefix ${redis.prefix}, ${describeGames(opened.games)}; SIGTERM to stop`,
        );
        await supervisor.closed;
        console.log('agate worker: current jobs finished, exiting');
      } finally {
        await opened.close();
      }
    });
}
