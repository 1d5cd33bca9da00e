export { appendEvents } from './append-events.js';
export type {
  AppendAccepted,
  AppendedEvent,
  AppendInput,
  AppendRejected,
  AppendResult,
} from './append-events.js';
export { findJsonProblem } from './check-json.js';
export { findSeedProblem, maxSeedLength } from './check-seed.js';
export { checkClientTime, clientTimeMicros, storedClientTime } from './client-time.js';
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
export { checkRef, getSession, notFound, selectSession, sessionColumns } from './get-session.js';
export type { SessionRef, SessionRow } from './get-session.js';
export { defaultLimits, resolveLimits } from './limits.js';
export type { Limits } from './limits.js';
export { deriveEventSeed, drawSessionSecret, fetchEventSeeds } from './event-seeds.js';
export { drawSeed, prepareBatch, serverSeedIds, shapeBatch } from './prepare-batch.js';
export type { PreparedEvent, SeedPolicy, ShapedEvent } from './prepare-batch.js';
export {
  boundsOf,
  pageParams,
  pageQuery,
  readEvents,
  selectCompletePage,
  storedEvents,
  streamEvents,
} from './read-events.js';
export type { EventBounds } from './event-bounds.js';
export type { EventPage, ReadEventsInput, StoredEvent, StreamEventsInput } from './read-events.js';
export { missingEvents, missingRange } from './missing-events.js';
export type { MissingRange } from './missing-events.js';
export { toSession } from './session.js';
export type { Session, SessionStatus } from './session.js';
export type { AfterAppend, AppendedBatch, StoreDeps } from './store-deps.js';
export { checkWrittenBy, keyWriter } from './written-by.js';
export type { WrittenBy } from './written-by.js';
