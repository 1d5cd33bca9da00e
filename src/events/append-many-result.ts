import type { AppendResult } from './append-result.js';
import type { NewEvent } from './event-envelope.js';
import type { WrittenBy } from './written-by.js';

/** One session's batch in an `appendMany` request. */
export type AppendManyBatch = {
  sessionId: string;
  events: readonly NewEvent[];
  /** Optimistic concurrency for this session only, as in a single append. */
  expectedSequence?: number;
};

export type AppendManyInput = {
  tenantId: string;
  /** 1..`maxSessionsPerAppend` batches, each to a different session. */
  batches: readonly AppendManyBatch[];
  /** Recorded in every stored row (default `library`); the HTTP API passes `key:<key id>`. */
  writtenBy?: WrittenBy;
};

/** The codes a session of an `appendMany` may fail with besides a single append's refusals. */
export const sessionFailureReasons = [
  'session_busy',
  'invalid_event',
  'unknown_event_type',
  'seed_not_allowed',
  'payload_too_large',
  'batch_too_large',
  'invalid_request',
  'unknown_rules',
  'internal',
] as const;

export type SessionFailureReason = (typeof sessionFailureReasons)[number];

/**
 * A session whose batch was not tried (`session_busy`: its lock was not free in time; retry the
 * same batch) or failed validation or its append (nothing of it was stored).
 */
export type AppendSessionFailed = {
  ok: false;
  reason: SessionFailureReason;
  message: string;
  /** Null: not known (the batch did not reach the session). */
  currentSequence: number | null;
  /** What the failure's error carried (such as `index` of the bad event). */
  details?: Readonly<Record<string, unknown>>;
};

export type SessionAppendResult = (AppendResult | AppendSessionFailed) & { sessionId: string };

/** One result per batch, in the input's order. */
export type AppendManyResult = { results: SessionAppendResult[] };
