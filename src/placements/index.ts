export { databaseUrlVariable, readDatabaseServers, readReplicaUrls } from './database-servers.js';
export { databaseNameOf, databaseNamePattern, parsePlacement } from './placement.js';
export type { Placement } from './placement.js';
export { createPlacementRouter, placementState } from './placement-router.js';
export type {
  PlacedAgate,
  PlacementRouter,
  PlacementRouterOptions,
  PlacementState,
  PlacementStore,
} from './placement-router.js';
export { selectPlacement, updatePlacement } from './placements.queries.js';
export { defaultReplicaWaitMs, readNearest, replicaLagBytes } from './replica-read.js';
export { caughtUpReplica, isReplicaFailure, readCaughtUp } from './replica-catch-up.js';
export type { ReadFrom, ReplicaReadNeed, ReplicaReadOptions } from './replica-read.js';
export { announcePlacementChange, placementChannel } from './placement-channel.js';
export { listenForPlacementChanges } from './placement-changes.js';
export type { PlacementChanges, PlacementChangesOptions } from './placement-changes.js';
