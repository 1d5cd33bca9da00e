export { boundaryAt, snapshotBoundaries, snapshotInterval } from './boundaries.js';
export type { Boundary, SnapshotReason } from './boundaries.js';
export { snapshotFeedEvents, snapshotMemory } from './snapshot-feed-events.js';
export type { SnapshotMemory } from './snapshot-feed-events.js';
export { snapshotSession } from './snapshotter.js';
export { writeSnapshot } from './write-snapshot.js';
export type { SnapshotTarget, WrittenSnapshot } from './write-snapshot.js';
export { rebuildSnapshots } from './rebuild-snapshots.js';
export type {
  DeletedSnapshot,
  RebuildSnapshotsInput,
  RebuildSnapshotsResult,
  RebuiltSnapshot,
  SnapshotProblem,
} from './rebuild-snapshots.js';
