export { abortMove, finishMove } from './end-move.js';
export type { EndMoveInput, EndMoveReport } from './end-move.js';
export { selectMoves } from './move-records.js';
export type { MoveRecord, MoveStep } from './move-records.js';
export { moveTenant } from './move-tenant.js';
export type { MoveCounts, MoveProgress, MoveReport, MoveTenantInput } from './move-tenant.js';
