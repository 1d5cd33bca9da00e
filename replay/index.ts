export { diffPaths } from './diff.js';
export type { Divergence, DivergenceKind } from './divergence.js';
export { createFolder, foldAll, stateHash } from './fold.js';
export type { Folder, FoldSession, FoldStart, ReplayEvent } from './fold.js';
export { listSnapshots, loadSnapshotState } from './load-snapshots.js';
export type { StoredSnapshot } from './load-snapshots.js';
export { readTailPages } from './read-tail.js';
export type { TailEvent } from './read-tail.js';
export {
  checkAnchorAt,
  checkHead,
  checkSnapshotAt,
  integrityDivergence,
  listAnchors,
} from './replay-checks.js';
export type { Anchor } from './replay-checks.js';
export { maxTraceSteps, replayInTransaction, replaySession } from './replay-session.js';
export type { ReplayDeps, ReplayOptions, ReplayResult, TraceStep } from './replay-session.js';
export { upcastEvent } from './upcast.js';
