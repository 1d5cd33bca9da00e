export {
  defaultNightlyPattern,
  nightlyQueueName,
  queueDispatch,
  registerNightlySchedule,
  startNightlyWorker,
} from './nightly-queue.js';
export { nightlyStages, runNightly } from './run-nightly.js';
export type { NightlyOptions, NightlyResult, NightlyStage, NightlySummary } from './run-nightly.js';
