export {
  defaultQueuePrefix,
  producerConnectionOptions,
  resolveQueueConnection,
  workerConnectionOptions,
} from './connection.js';
export type { QueueConnection, ResolvedQueueConnection } from './connection.js';
export {
  createSnapshotProducer,
  snapshotJobId,
  snapshotJobName,
  snapshotJobOptions,
  snapshotQueueName,
} from './snapshot-queue.js';
export type { EnqueueResult, SnapshotProducer, SnapshotProducerOptions } from './snapshot-queue.js';
export { processSnapshotJob, snapshotJobData, startSnapshotWorker } from './snapshot-worker.js';
export type { SnapshotWorker, SnapshotWorkerOptions } from './snapshot-worker.js';
export { WorkerSupervisor } from './worker-supervisor.js';
export type { ClosableWorker, SignalSource, WorkerSupervisorOptions } from './worker-supervisor.js';
