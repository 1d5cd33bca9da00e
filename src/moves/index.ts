export { abortMove, finishMove } from './end-move.js';
export type { EndMoveInput, EndMoveReport } from './end-move.js';
export { putFence, selectFence, selectMoves, selectOpenMove } from './move-records.js';
export type { FenceRow, FenceState, MoveRecord, MoveStep } from './move-records.js';
export { moveTenant, waitForEarlierWriters } from './move-tenant.js';
export type { MoveCounts, MoveProgress, MoveReport, MoveTenantInput } from './move-tenant.js';
