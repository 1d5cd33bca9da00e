/**
 * The shapes the agate HTTP API (v1) accepts and returns, as a client sees them: timestamps are
 * ISO 8601 strings, sequences are JS numbers. Written here, not imported from the server, so the
 * client depends on the wire contract only.
 */

import type { FeedEvent } from './consumer-types.js';

export type AgateClientOptions = {
  /** Where the API is served, e.g. `https://agate.example.com` (no trailing `/v1`). */
  baseUrl: string;
  apiKey: string;
  /** Extra attempts after the first, for network errors and 502/503/504 (default 3). */
  retries?: number;
  /** The first retry waits about this long; each later one twice as long (default 100 ms). */
  backoffMs?: number;
  /** The `fetch` to use (default: the global one); tests wrap it to drop responses. */
  fetch?: typeof fetch;
};

export type CreateSessionInput = {
  playerId?: string;
  seed?: string;
  /** Which game; the server's only one when left out. */
  rules?: string;
  config?: Record<string, unknown>;
};

export type CreatedSession = {
  id: string;
  seed: string;
  rules: string;
  rulesVersion: number;
  lastSequence: number;
};

export type SessionStatus = 'active' | 'ended';

export type SessionInfo = {
  id: string;
  playerId: string | null;
  rules: string;
  rulesVersion: number;
  seed: string;
  config: Record<string, unknown>;
  /** `active` or `ended` (typed as string so a newer server's statuses still parse). */
  status: SessionStatus | (string & Record<never, never>);
  lastSequence: number;
  headHash: string;
  firstEventAt: string | null;
  lastEventAt: string | null;
  endedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** The credential that created the session: `key:<API key id>`, `import`, `fixtures`, ... */
  writtenBy: string;
};

export type NewEvent = {
  /** A UUID; the client assigns a UUIDv7 when it is missing, before the first attempt. */
  eventId?: string;
  type: string;
  version?: number;
  data: Record<string, unknown>;
  /**
   * When the event happened on the game server: RFC 3339 with seconds and a time zone, up to
   * microseconds (`2026-11-23T13:00:00.123456+01:00`); anything else is refused, never rewritten.
   */
  clientTime?: string;
};

export type AppendOptions = {
  /** Optimistic concurrency: the session's last sequence as the caller last saw it. */
  expectedSequence?: number;
  /**
   * Ask for the rules' verdict on each event: `report` stores the batch and answers the
   * verdicts; `refuse` stores nothing when any event is rejected (`rules_rejected`, with the
   * verdicts in the error's `verdicts`).
   */
  verdicts?: 'report' | 'refuse';
};

/** What the rules made of one event: accepted, or rejected with the game's reason code. */
export type Verdict = { accepted: true } | { accepted: false; reason: string };

export type AppendedEvent = { eventId: string; sequence: number };

export type AppendResult = {
  firstSequence: number;
  lastSequence: number;
  events: AppendedEvent[];
  /** True when the server had stored the whole batch before (a retry): nothing new was written. */
  duplicate: boolean;
  /** With `verdicts` only: each event's verdict in batch order (a retry gets the same ones). */
  verdicts?: Verdict[];
  /** With `verdicts` only: the session's sequence after the batch. */
  sequence?: number;
  /** With `verdicts` only: the state hash at `sequence`, as a replay to it returns it. */
  stateHash?: string;
};

export type StoredEvent = {
  eventId: string;
  sessionId: string;
  sequence: number;
  type: string;
  version: number;
  data: Record<string, unknown>;
  /** The instant sent, in UTC: `2026-11-23T12:00:00.123Z`, six fraction digits with microseconds. */
  clientTime: string | null;
  serverTime: string;
  hash: string;
  /** The credential that appended the event; not part of the hash. */
  writtenBy: string;
};

export type EventPage = { events: StoredEvent[]; nextAfter: number | null };

export type ReadEventsOptions = {
  /** Start after this sequence (default 0: from the first event). */
  after?: number;
  /** Events per request; the server caps it. */
  pageSize?: number;
};

export type SessionState = { sequence: number; stateHash: string; state: unknown };

export type ReplayOptions = {
  to?: number;
  from?: 'genesis' | 'snapshot';
  verify?: boolean;
  /** `true`: the hash after every event; `'state'`: the state too. */
  trace?: boolean | 'state';
};

export type Divergence = {
  kind: string;
  sequence: number;
  event: { eventId: string; type: string } | null;
  message: string;
  expectedHash?: string;
  actualHash?: string;
  paths?: string[];
};

export type TraceStep = { sequence: number; type: string; stateHash: string; state?: unknown };

export type ReplayResult = {
  sessionId: string;
  rulesVersion: number;
  sequence: number;
  stateHash: string;
  state: unknown;
  verified: boolean | null;
  divergences: Divergence[];
  snapshotUsed: { sequence: number; reason: string } | null;
  eventsReplayed: number;
  trace?: TraceStep[];
};

export type EndSessionOptions = {
  reason?: string;
  expectedSequence?: number;
};

/** A page of `GET /v1/feed`: send `next` back as `after`. */
export type FeedPage = { events: FeedEvent[]; next: string; held: boolean };

export type FeedOptions = {
  /** Start after this position (one the feed delivered); default: the start of the feed. */
  after?: string;
  /** Instead of `after`: `'now'` starts with the events committed from now on. */
  from?: 'start' | 'now';
  /** Only these event types. */
  types?: readonly string[];
  /** Only this session's events. */
  session?: string;
  /** Aborting it ends the iteration (the loop exits without an error). */
  signal?: AbortSignal;
  /**
   * Keep waiting for new events when caught up (default true). False: end at the first empty
   * page with nothing held back (committed events behind an open transaction are waited for).
   */
  follow?: boolean;
  /** Events per request, 1 to 1,000 (default 100). */
  pageSize?: number;
  /** How long to wait before asking again when caught up (default 250 ms). */
  idleMs?: number;
  /** The longest wait between reconnection attempts (default 5 s). */
  maxBackoffMs?: number;
};
