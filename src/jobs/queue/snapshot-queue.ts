import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { SnapshotTarget } from '../../snapshots/index.js';
import {
  closeRedis,
  createProducerRedis,
  resolveQueueConnection,
  whenReady,
} from './connection.js';
import type { QueueConnection } from './connection.js';

export const snapshotQueueName = 'snapshots';
export const snapshotJobName = 'snapshot';

/**
 * One job per session and sequence: BullMQ ignores an add whose id still has a job record. A
 * `round` (the nightly run's) gives a new id, so that a job that failed for good, whose record is
 * kept, cannot block the repair of its snapshot.
 */
export function snapshotJobId(
  target: Pick<SnapshotTarget, 'sessionId' | 'sequence'>,
  round?: string,
): string {
  const id = `snap_${target.sessionId}_${target.sequence}`;
  return round === undefined ? id : `${id}_${round}`;
}

export const snapshotJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  // Kept an hour so that enqueueing the same boundary again is a no-op rather than a rerun.
  removeOnComplete: { age: 3_600 },
  removeOnFail: false,
} as const satisfies JobsOptions;

export type EnqueueResult = 'queued' | 'unavailable';

export type SnapshotProducer = {
  /**
   * Adds one job per target. Never throws and never waits longer than `timeoutMs`: on any
   * Redis problem it resolves 'unavailable' and the caller does the work itself.
   */
  enqueue(targets: readonly SnapshotTarget[], options?: { round?: string }): Promise<EnqueueResult>;
  close(): Promise<void>;
};

export type SnapshotProducerOptions = QueueConnection & {
  /** The most an enqueue may add to an append (default 300 ms). */
  timeoutMs?: number;
  /** Redis errors (connection refused, timeouts); enqueue has already answered 'unavailable'. */
  onError?: (error: Error) => void;
};

export function createSnapshotProducer(options: SnapshotProducerOptions): SnapshotProducer {
  const { url, prefix } = resolveQueueConnection(options);
  const timeoutMs = options.timeoutMs ?? 300;
  const onError = options.onError ?? (() => {});
  const redis = createProducerRedis(url, timeoutMs);
  // The queue reports the client's errors; this keeps ioredis quiet once the queue has closed.
  redis.on('error', () => {});
  const queue = new Queue(snapshotQueueName, {
    connection: redis,
    prefix,
    defaultJobOptions: snapshotJobOptions,
  });
  queue.on('error', onError);

  const add = async (
    targets: readonly SnapshotTarget[],
    round: string | undefined,
  ): Promise<EnqueueResult> => {
    try {
      if (!(await whenReady(redis, timeoutMs))) return 'unavailable';
      await queue.addBulk(
        targets.map((target) => ({
          name: snapshotJobName,
          data: target,
          opts: { jobId: snapshotJobId(target, round) },
        })),
      );
      return 'queued';
    } catch (error) {
      onError(error instanceof Error ? error : new Error(String(error)));
      return 'unavailable';
    }
  };

  return {
    enqueue: (targets, enqueueOptions) =>
      targets.length === 0
        ? Promise.resolve('queued')
        : within(add(targets, enqueueOptions?.round), timeoutMs),
    async close() {
      await queue.close();
      await closeRedis(redis);
    },
  };
}

/** `work`, or 'unavailable' once `ms` passed (a late add still lands: every job is idempotent). */
function within(work: Promise<EnqueueResult>, ms: number): Promise<EnqueueResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<EnqueueResult>((resolve) => {
    timer = setTimeout(() => resolve('unavailable'), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
