export { AgateClient } from './agate-client.js';
export {
  AgateClientError,
  errorFromProblem,
  isAgateClientError,
  problemCodes,
} from './client-error.js';
export type { AgateErrorCode, ClientFailureCode, ProblemCode } from './client-error.js';
export type {
  AgateClientOptions,
  AppendedEvent,
  AppendOptions,
  AppendResult,
  CreatedSession,
  CreateSessionInput,
  Divergence,
  EndSessionOptions,
  EventPage,
  FeedEvent,
  FeedOptions,
  FeedPage,
  NewEvent,
  ReadEventsOptions,
  ReplayOptions,
  ReplayResult,
  SessionInfo,
  SessionState,
  SessionStatus,
  StoredEvent,
  TraceStep,
} from './client-types.js';
