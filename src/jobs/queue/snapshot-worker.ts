import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { z } from 'zod';
import { isAgateError } from '../../errors/index.js';
import { writeSnapshot } from '../../snapshots/index.js';
import type { SnapshotTarget, WrittenSnapshot } from '../../snapshots/index.js';
import type { ReplayDeps } from '../../../replay/index.js';
import { resolveQueueConnection, workerConnectionOptions } from './connection.js';
import type { QueueConnection } from './connection.js';
import { snapshotJobOptions, snapshotQueueName } from './snapshot-queue.js';

/** A snapshot job's payload, as the producer writes it; anything else fails without retry. */
export const snapshotJobData = z.object({
  tenantId: z.uuid(),
  sessionId: z.uuid(),
  sequence: z.int().min(1),
  reason: z.enum(['interval', 'day_boundary', 'manual']),
}) satisfies z.ZodType<SnapshotTarget>;

export type SnapshotWorker = Worker<unknown, WrittenSnapshot>;

/** Writes the snapshot a job names. Idempotent, so a job that stalled and ran twice is harmless. */
export async function processSnapshotJob(
  deps: ReplayDeps,
  job: Pick<Job<unknown>, 'id' | 'data'>,
): Promise<WrittenSnapshot> {
  const parsed = snapshotJobData.safeParse(job.data);
  if (!parsed.success) {
    throw new UnrecoverableError(
      `Snapshot job ${job.id} has invalid data (${z.prettifyError(parsed.error)}); only the snapshot producer should add jobs to this queue. Remove the job.`,
    );
  }
  try {
    return await writeSnapshot(deps, parsed.data);
  } catch (error) {
    // Retrying cannot make a missing session appear, nor a sequence beyond its last event.
    if (isAgateError(error, 'session_not_found') || isAgateError(error, 'invalid_request')) {
      throw new UnrecoverableError(`Snapshot job ${job.id}: ${error.message} [${error.code}]`);
    }
    throw error;
  }
}

export type SnapshotWorkerOptions = QueueConnection & {
  deps: ReplayDeps;
  /** Jobs in flight at once (default 2). */
  concurrency?: number;
  /** How often this worker looks for jobs a dead worker left active (default 30 s). */
  stalledInterval?: number;
  /** How long a job stays locked to this worker without a renewal (default 30 s). */
  lockDuration?: number;
  /** Connection and internal errors; failed jobs are not reported here (see the job record). */
  onError?: (error: Error) => void;
};

/** A BullMQ worker on the snapshot queue; hand it to a `WorkerSupervisor` for a clean shutdown. */
export function startSnapshotWorker(options: SnapshotWorkerOptions): SnapshotWorker {
  const { url, prefix } = resolveQueueConnection(options);
  const worker = new Worker<unknown, WrittenSnapshot>(
    snapshotQueueName,
    (job) => processSnapshotJob(options.deps, job),
    {
      connection: workerConnectionOptions(url),
      prefix,
      concurrency: options.concurrency ?? 2,
      // BullMQ's defaults, spelled out: an undefined option would replace its default.
      stalledInterval: options.stalledInterval ?? 30_000,
      lockDuration: options.lockDuration ?? 30_000,
      // A job whose worker died is run again, as often as a failed attempt would be (BullMQ's
      // default of 1 failed a job caught in two killed workers for good); jobs are idempotent.
      maxStalledCount: snapshotJobOptions.attempts,
    },
  );
  worker.on(
    'error',
    options.onError ?? ((error) => console.error(`agate snapshot worker: ${error.message}`)),
  );
  return worker;
}
