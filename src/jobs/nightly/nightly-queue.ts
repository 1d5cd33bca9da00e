import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { Agate } from '../../runtime/index.js';
import { resolveQueueConnection, workerConnectionOptions } from '../queue/index.js';
import type { QueueConnection, SnapshotProducer } from '../queue/index.js';
import { writeSnapshot } from '../../snapshots/index.js';
import type { SnapshotTarget } from '../../snapshots/index.js';
import { divergencesOf, runNightly } from './run-nightly.js';
import type { NightlyOptions, NightlyResult } from './run-nightly.js';

export const nightlyQueueName = 'nightly';
export const nightlySchedulerId = 'nightly';
/** 03:00 UTC every day, unless configured (AGATE_NIGHTLY_CRON). */
export const defaultNightlyPattern = '0 3 * * *';

/**
 * Registers (or updates) the nightly cron. Idempotent: the scheduler id is fixed, so registering
 * again from every worker replaces the schedule instead of adding one.
 */
export async function registerNightlySchedule(
  connection: QueueConnection,
  pattern = defaultNightlyPattern,
): Promise<void> {
  const { url, prefix } = resolveQueueConnection(connection);
  const queue = new Queue(nightlyQueueName, { connection: workerConnectionOptions(url), prefix });
  try {
    await queue.upsertJobScheduler(
      nightlySchedulerId,
      { pattern, tz: 'UTC' },
      { name: 'nightly', data: {} },
    );
  } finally {
    await queue.close();
  }
}

/**
 * Snapshot work goes to the queue; when the queue does not answer, it is written in process. The
 * jobs get ids of this run's own, so a job of the same snapshot that failed for good before (its
 * record kept for operators) does not block the repair.
 */
export function queueDispatch(agate: Agate, producer: SnapshotProducer) {
  const round = `n${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  return async (targets: SnapshotTarget[]): Promise<void> => {
    if ((await producer.enqueue(targets, { round })) === 'queued') return;
    for (const target of targets) await writeSnapshot(agate, target);
  };
}

export type NightlyLogger = {
  error(details: object, message: string): void;
  info(details: object, message: string): void;
};

/** Logs a run's outcome: every divergence it saw at error level, one line each. */
export function logNightlyResult(logger: NightlyLogger, result: NightlyResult): void {
  if (!result.ran) {
    logger.info({ reason: result.reason }, result.message);
    return;
  }
  const { runId } = result.summary;
  const found = divergencesOf(result.summary);
  for (const d of found) {
    const { tenantId, sessionId, sequence, kind, firstSeen } = d;
    logger.error(
      { runId, tenantId, sessionId, sequence, kind, firstSeen },
      `integrity divergence: ${d.message}`,
    );
  }
  logger.info({ runId, divergences: found.length }, 'nightly run completed');
}

export type NightlyWorkerOptions = Pick<NightlyOptions, 'fullVerifyLimit'> & {
  logger: NightlyLogger;
  /**
   * The placement database servers (ADR 0032): each gets its own nightly run after the control
   * plane's, in the same job, with its day-boundary snapshots written by this worker.
   */
  placements?: readonly { placement: string; agate: Agate; url: string }[];
};

/** Runs the nightly job when the scheduler fires; the run itself holds the lock that keeps it single. */
export function startNightlyWorker(
  connection: QueueConnection,
  agate: Agate,
  databaseUrl: string,
  producer: SnapshotProducer,
  options: NightlyWorkerOptions,
): Worker<unknown, NightlyResult> {
  const { url, prefix } = resolveQueueConnection(connection);
  const { logger, fullVerifyLimit } = options;
  const worker = new Worker<unknown, NightlyResult>(
    nightlyQueueName,
    async () => {
      const result = await runNightly(agate, databaseUrl, {
        dispatch: queueDispatch(agate, producer),
        fullVerifyLimit,
      });
      logNightlyResult(logger, result);
      for (const server of options.placements ?? []) {
        const placed = await runNightly(server.agate, server.url, { fullVerifyLimit });
        const { placement } = server;
        logNightlyResult(
          {
            error: (details, message) => logger.error({ ...details, placement }, message),
            info: (details, message) => logger.info({ ...details, placement }, message),
          },
          placed,
        );
      }
      return result;
    },
    { connection: workerConnectionOptions(url), prefix, concurrency: 1 },
  );
  worker.on('error', (error) => logger.error({ err: error }, 'nightly worker error'));
  worker.on('failed', (_job, error) => logger.error({ err: error }, 'nightly run failed'));
  return worker;
}
