export { AgateClient } from './agate-client.js';
export {
  AgateClientError,
  errorFromProblem,
  isAgateClientError,
  problemCodes,
} from './client-error.js';
export type { ConsumerClient } from './consumer-client.js';
export type {
  ConsumerDefinition,
  ConsumerInfo,
  ConsumerMembership,
  ConsumerOptions,
  ConsumerSlotState,
  ConsumerStart,
  FeedEvent,
  ReceivedEvents,
  RunOptions,
} from './consumer-types.js';
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
  Verdict,
} from './client-types.js';
