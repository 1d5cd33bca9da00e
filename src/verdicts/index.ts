export { createBatchJudge } from './create-batch-judge.js';
export type { BatchJudgeOptions } from './create-batch-judge.js';
export { createRecentStates, defaultRecentStates } from './recent-states.js';
export type { RecentState, RecentStates } from './recent-states.js';
export type { StateSource } from './state-before.js';
