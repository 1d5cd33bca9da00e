export { diffPaths } from './diff.js';
export type { Divergence, DivergenceKind } from './divergence.js';
export { createFolder, foldAll, stateHash } from './fold.js';
export type { Folder, FoldSession, FoldStart, ReplayEvent } from './fold.js';
export { foldForward, foldFromSnapshot } from './fold-forward.js';
export type { FoldedAt } from './fold-forward.js';
export { readTailPages } from './read-tail.js';
export {
  checkAnchorAt,
  checkHead,
  checkSnapshotAt,
  corruptSnapshot,
  integrityDivergence,
} from './replay-checks.js';
export { recordReplayed } from './record-replayed.js';
export type { ReplayedAudit } from './record-replayed.js';
export { replayAnswer } from './replay-answer.js';
export type { ReplayAnswer, ReplayBookkeeping } from './replay-answer.js';
export {
  foldSessionOf,
  maxTraceSteps,
  replayInTransaction,
  replaySession,
  rulesOf,
} from './replay-session.js';
export type { ReplayDeps, ReplayOptions, ReplayResult, TraceStep } from './replay-session.js';
export { upcastEvent } from './upcast.js';
export { visitStates } from './visit-states.js';
export type { StateVisitor, VisitedState } from './visit-states.js';
