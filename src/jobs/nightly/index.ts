export {
  defaultNightlyPattern,
  logNightlyResult,
  nightlyQueueName,
  queueDispatch,
  registerNightlySchedule,
  startNightlyWorker,
} from './nightly-queue.js';
export type { NightlyLogger, NightlyWorkerOptions } from './nightly-queue.js';
export {
  applyNightlySchedule,
  describeSchedule,
  settleNightlySchedule,
} from './nightly-schedule.js';
export type { ScheduleDecision, ScheduleOutcome } from './nightly-schedule.js';
export { defaultFullVerifyLimit, divergencesOf, nightlyStages, runNightly } from './run-nightly.js';
export type { NightlyOptions, NightlyResult, NightlyStage, NightlySummary } from './run-nightly.js';
export type { AuditReport, Finding, FullVerifyReport } from './run-audit.js';
export { readNightlyState } from './audit-store.js';
export type { NightlyState } from './audit-store.js';
