export { selectAnalyticsSources } from './analytics-sources.queries.js';
export type { AnalyticsSource, AnalyticsSourceKey } from './analytics-sources.queries.js';
export { appendEvents, appendEventsInTransaction } from './append-events.js';
export { appendMany } from './append-many.js';
export { sessionFailureReasons } from './append-many-result.js';
export type {
  AppendManyBatch,
  AppendManyInput,
  AppendManyResult,
  AppendSessionFailed,
  SessionAppendResult,
  SessionFailureReason,
} from './append-many-result.js';
export type {
  AppendAccepted,
  AppendedEvent,
  AppendInput,
  AppendRejected,
  AppendResult,
} from './append-result.js';
export { maxJudgeAttempts } from './append-judged.js';
export { verdictModes } from './batch-judge.js';
export type { BatchJudge, JudgedBatch, JudgeRequest, VerdictMode } from './batch-judge.js';
export { findJsonProblem } from './check-json.js';
export { findSeedProblem, maxSeedLength } from './check-seed.js';
export {
  checkClientTime,
  clientTimeMicros,
  clientTimeSql,
  storedClientTime,
} from './client-time.js';
export type { ClientTimeCheck } from './client-time.js';
export { checkSessionInput, createSession } from './create-session.js';
export type { CreateSessionInput } from './create-session.js';
export { endSession } from './end-session.js';
export type { EndSessionInput } from './end-session.js';
export {
  clientTimeText,
  eventBatchSchema,
  eventEnvelopeSchema,
  eventTypeLength,
  minEventVersion,
} from './event-envelope.js';
export type { NewEvent } from './event-envelope.js';
export { createEventStore } from './event-store.js';
export type { EventStore, EventStoreOptions } from './event-store.js';
export { checkRef, getSession, notFound } from './get-session.js';
export type { SessionRef } from './get-session.js';
export { sessionOrigins } from './session-origins.js';
export type { SessionOrigin, SessionOrigins } from './session-origins.js';
export { listSessionSnapshots } from './list-session-snapshots.js';
export { defaultLimits, resolveLimits } from './limits.js';
export type { Limits } from './limits.js';
export { deriveEventSeed, drawSessionSecret, fetchEventSeeds } from './event-seeds.js';
export { drawSeed, prepareBatch, serverSeedIds, shapeBatch } from './prepare-batch.js';
export type { PreparedEvent, SeedPolicy, ShapedEvent } from './prepare-batch.js';
export { readEvents, selectCompletePage, streamEvents } from './read-events.js';
export type { EventPage, ReadEventsInput, StreamEventsInput } from './read-events.js';
export { boundsOf } from './event-bounds.js';
export type { EventBounds } from './event-bounds.js';
export { listAnchors, recordAnchors } from './anchors.queries.js';
export type { Anchor } from './anchors.queries.js';
export { selectTailPage } from './events.queries.js';
export {
  compareFeedPositions,
  feedStart,
  formatFeedPosition,
  parseFeedPosition,
} from './feed-position.js';
export type { FeedPosition } from './feed-position.js';
export { feedNow } from './feed-now.js';
export { feedPageQuery, selectFeedPage } from './feed.queries.js';
export type { FeedEvent, FeedPage, FeedPageInput } from './feed.queries.js';
export { selectFeedLinks, selectSessionChainRoots } from './feed-links.queries.js';
export type { FeedLink, SessionChainRoot } from './feed-links.queries.js';
export { forEachSession, groupBySession } from './group-by-session.js';
export type { SessionEvents } from './group-by-session.js';
export { checkFeedTypes } from './feed-types.js';
export { maxFeedPage, readFeed } from './read-feed.js';
export type { ReadFeedInput } from './read-feed.js';
export type { EventRange, StoredEvent, TailEvent } from './events.queries.js';
export {
  fullVerifyTargets,
  incrementalTargets,
  selectAuditSessions,
  verifyBacklog,
} from './audit-sessions.queries.js';
export type {
  AuditSession,
  AuditSnapshot,
  AuditStart,
  AuditTarget,
} from './audit-sessions.queries.js';
export {
  countPlayerSessions,
  listEndedSessionIds,
  listPlayerSessionIds,
  selectSession,
  selectSessionBounds,
  selectSessionHead,
  selectSessionStart,
} from './sessions.queries.js';
export type { SessionRow, SessionStart, SnapshotCandidate } from './sessions.queries.js';
export {
  countMissingSnapshots,
  countSnapshots,
  deleteSnapshot,
  insertSnapshot,
  insertSnapshots,
  listDayBoundaryTargets,
  listMissingIntervalTargets,
  listSnapshots,
  selectSnapshotLag,
  selectSnapshotState,
} from './snapshots.queries.js';
export type { NewSnapshot, SnapshotSpot, StoredSnapshot } from './snapshots.queries.js';
export { missingEvents, missingRange } from './missing-events.js';
export type { MissingRange } from './missing-events.js';
export type { SessionRules } from './session-rules.js';
export { toSession } from './session.js';
export type { Session, SessionStatus } from './session.js';
export type { AfterAppend, AppendedBatch, StoreDeps } from './store-deps.js';
export { checkWrittenBy, keyWriter } from './written-by.js';
export type { WrittenBy } from './written-by.js';
export { selectEventRows, selectSessionRows, selectSnapshotRows } from './tenant-export.queries.js';
export type { ExportedSessionRow } from './tenant-export.queries.js';
export {
  copyMoveEventGroups,
  countAuditEntries,
  deleteMovedTenantRows,
  deleteTenantRows,
  insertMoveRows,
  moveAudit,
  moveDerived,
  movePlayers,
  moveSecrets,
  moveSessions,
  moveStart,
  selectEventAtOrBefore,
  selectEventTransaction,
  selectMoveDigest,
  selectMoveEvents,
  selectMovePage,
  selectMoveRowsById,
  selectMoveSessionIds,
  tenantDataTables,
} from './tenant-move.queries.js';
export type {
  MoveDigest,
  MoveEvent,
  MoveRow,
  MoveTable,
  TenantDataTable,
} from './tenant-move.queries.js';
