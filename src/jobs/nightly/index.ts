export { nightlyStages, runNightly } from './run-nightly.js';
export type { NightlyOptions, NightlyResult, NightlyStage, NightlySummary } from './run-nightly.js';
