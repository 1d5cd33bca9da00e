import type { Pool, PoolClient } from '../db/index.js';
import { appendEvents, appendEventsInTransaction } from './append-events.js';
import { appendMany } from './append-many.js';
import type { AppendManyInput, AppendManyResult } from './append-many-result.js';
import type { AppendInput, AppendResult } from './append-result.js';
import type { BatchJudge } from './batch-judge.js';
import { createSession } from './create-session.js';
import type { CreateSessionInput } from './create-session.js';
import { endSession } from './end-session.js';
import type { EndSessionInput } from './end-session.js';
import type { EventTypeCatalog } from '../game/index.js';
import { getSession } from './get-session.js';
import type { SessionRef } from './get-session.js';
import { resolveLimits } from './limits.js';
import type { Limits } from './limits.js';
import { readEvents, streamEvents } from './read-events.js';
import type { EventPage, ReadEventsInput, StreamEventsInput } from './read-events.js';
import type { StoredEvent } from './events.queries.js';
import type { Session } from './session.js';
import { createSessionQueue } from './session-queue.js';
import { SessionRulesCache } from './session-rules.js';
import type { AfterAppend, AppendedBatch, StoreDeps } from './store-deps.js';

export type EventStoreOptions = {
  pool: Pool;
  catalog: EventTypeCatalog;
  limits?: Partial<Limits>;
  /** Work to run in order after each committed append (the snapshotter); see `AfterAppend`. */
  afterAppend?: readonly AfterAppend[];
  onAfterAppendError?: (error: unknown, batch: AppendedBatch) => void;
  /** What appends with `verdicts` are judged by (`createAgate` gives one). */
  judge?: BatchJudge;
};

export type EventStore = {
  readonly deps: StoreDeps;
  createSession(input: CreateSessionInput): Promise<Session>;
  getSession(ref: SessionRef): Promise<Session>;
  appendEvents(input: AppendInput): Promise<AppendResult>;
  /** `appendEvents` in the caller's open transaction; no after-append work (see the function). */
  appendEventsInTransaction(tx: PoolClient, input: AppendInput): Promise<AppendResult>;
  /** Batches to up to `maxSessionsPerAppend` sessions in one commit, a result per session (see the function). */
  appendMany(input: AppendManyInput): Promise<AppendManyResult>;
  endSession(input: EndSessionInput): Promise<AppendResult>;
  readEvents(input: ReadEventsInput): Promise<EventPage>;
  streamEvents(input: StreamEventsInput): AsyncGenerator<StoredEvent>;
};

/** The event store over one pool; every operation works in the tenant the caller names. */
export function createEventStore(options: EventStoreOptions): EventStore {
  const deps: StoreDeps = {
    pool: options.pool,
    catalog: options.catalog,
    limits: resolveLimits(options.limits),
    sessionRules: new SessionRulesCache(),
    afterAppend: options.afterAppend ?? [],
    onAfterAppendError: options.onAfterAppendError,
    judge: options.judge,
    judging: createSessionQueue(),
  };
  return {
    deps,
    createSession: (input) => createSession(deps, input),
    getSession: (ref) => getSession(deps, ref),
    appendEvents: (input) => appendEvents(deps, input),
    appendEventsInTransaction: (tx, input) => appendEventsInTransaction(deps, tx, input),
    appendMany: (input) => appendMany(deps, input),
    endSession: (input) => endSession(deps, input),
    readEvents: (input) => readEvents(deps, input),
    streamEvents: (input) => streamEvents(deps, input),
  };
}
