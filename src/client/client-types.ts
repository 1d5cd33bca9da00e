/**
 * The shapes the agate HTTP API (v1) accepts and returns, as a client sees them: timestamps are
 * ISO 8601 strings, sequences are JS numbers. Written here, not imported from the server, so the
 * client depends on the wire contract only.
 */

import type { EventInputOf, EventTypeRegistry } from '../game/index.js';
import type { FeedEvent } from './consumer-types.js';

export type AgateClientOptions = {
  /** Where the API is served, e.g. `https://agate.example.com` (no trailing `/v1`). */
  baseUrl: string;
  apiKey: string;
  /**
   * Extra attempts after the first, for network errors and 502/503/504 (default 3); each waits
   * the backoff, or the answer's Retry-After when that is longer.
   */
  retries?: number;
  /** The first retry waits about this long; each later one twice as long (default 100 ms). */
  backoffMs?: number;
  /**
   * Send through this `fetch` instead (tests wrap one to drop responses). Without it the client
   * sends over node:http / node:https with a keep-alive agent of its own in Node (a fraction of
   * fetch's CPU per request), and through the global `fetch` elsewhere.
   */
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

/** A rules value whose event types the client can type payloads from: `typeof archiveGateV1`. */
export type RulesWithEvents = { readonly eventTypes: EventTypeRegistry };

type EventInput = { type: string; version: number; data: unknown };

/** `version` may be left out where the type has one version only (the server takes the newest). */
type VersionField<All, I extends EventInput> = [
  Exclude<Extract<All, { type: I['type'] }>, I>,
] extends [never]
  ? { version?: I['version'] }
  : { version: I['version'] };

/** One object type, not an intersection, so that excess properties in `data` are reported. */
type Flat<T> = { [K in keyof T]: T[K] };

type TypedNewEvent<All, I> = I extends EventInput
  ? Flat<
      Omit<NewEvent, 'type' | 'version' | 'data'> & {
        type: I['type'];
        data: I['data'];
      } & VersionField<All, I>
    >
  : never;

/**
 * A new event of the game `R` (`typeof archiveGateV1`, or any rules value whose event types
 * were made with `defineEventTypes`): each type with its own version and `data` typed from that
 * version's zod schema (its input: defaults may be left out). Types only: nothing of the rules
 * is loaded by the client.
 */
export type NewEventOf<R> = TypedNewEvent<EventInputOf<R>, EventInputOf<R>>;

/** `AgateClient.game<R>()`: the calls whose payloads depend on the game, typed for `R`. */
export type GameClient<R> = {
  /** `AgateClient.append`, with each event typed by the game's own event types. */
  append(
    sessionId: string,
    events: readonly NewEventOf<R>[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
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
  /**
   * Read your writes: the session as of at least this sequence (what your append was told), even
   * where the server reads from a replica (ADR 0033).
   */
  minSequence?: number;
};

export type SessionState = { sequence: number; stateHash: string; state: unknown };

export type ReplayOptions = {
  to?: number;
  /** Read your writes: a state at this sequence or later, even from a replica (ADR 0033). */
  minSequence?: number;
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

export type SnapshotInfo = {
  sequence: number;
  rulesVersion: number;
  stateHash: string;
  /** `interval`, `day_boundary` or `manual`. */
  reason: string;
  createdAt: string;
};

export type LeaderboardOptions = {
  /** Which game; the server's only one when left out. */
  rules?: string;
  /** 1 to the server's maximum (default 10). */
  limit?: number;
};

export type LeaderboardEntry = { rank: number; sessionId: string; score: number };

export type Leaderboard = { rules: string; entries: LeaderboardEntry[] };

/** Every field is PII, kept in the players table only. */
export type CreatePlayerInput = { externalRef?: string; displayName?: string; email?: string };

export type Player = {
  id: string;
  tenantId: string;
  externalRef: string | null;
  displayName: string | null;
  email: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set once the player is erased; the PII fields are then null. */
  erasedAt: string | null;
};

export type AuditEntry = {
  id: string;
  occurredAt: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
};

export type PlayerExport = {
  player: Player;
  sessions: (SessionInfo & { tenantId: string })[];
  events: StoredEvent[];
  auditEntries: AuditEntry[];
};

export type ErasedPlayer = {
  id: string;
  erasedAt: string;
  /** How many sessions name the player (they stay, and still replay). */
  sessions: number;
  /** True when it was erased before: nothing changed. */
  alreadyErased: boolean;
};

/** A JSON Schema (draft 2020-12) object, as the server publishes it. */
export type JsonSchemaObject = Record<string, unknown>;

export type GameEventType = {
  type: string;
  version: number;
  /** Whether this is the newest version of the type. */
  latest: boolean;
  consumesRandomness: boolean;
  clientMaySupplySeed: boolean;
  /** The `data` a client sends (without the seed where the server draws it). */
  schema: JsonSchemaObject;
};

/** One rules version the server runs (`GET /v1/games`). */
export type GameInfo = {
  rules: string;
  version: number;
  /** Whether this is the newest version of these rules on the server. */
  latest: boolean;
  dayBoundaryTypes: string[];
  rejectReasons: string[];
  configSchema: JsonSchemaObject;
  eventTypes: GameEventType[];
};

export type ApiKeyRole = 'game_server' | 'analyst' | 'admin';

export type CreateApiKeyInput = { role: ApiKeyRole; label?: string };

export type CreatedApiKey = {
  id: string;
  /** Shown only in this answer; the server keeps it hashed. */
  key: string;
  role: ApiKeyRole;
  label: string | null;
};

export type CreatedTenant = {
  id: string;
  name: string;
  createdAt: string;
  /** Where its data lives: `shared` or `database:<name>` (ADR 0032). */
  placement: string;
  /** The tenant's first admin key (shown only in this answer). */
  adminKey: CreatedApiKey;
};

export type AnalyticsValue = string | number | boolean | null;

/** One row of analytics.events (ADR 0023). */
export type AnalyticsEvent = {
  tenantId: string;
  sessionId: string;
  sequence: number;
  eventId: string;
  type: string;
  version: number;
  serverTime: string;
  clientTime: string | null;
  playerId: string | null;
  rules: string;
  rulesVersion: number;
  /** What the session's rules declare for this event type. */
  fields: Record<string, AnalyticsValue>;
};

export type AnalyticsPage = { events: AnalyticsEvent[]; next: string | null };

export type AnalyticsOptions = {
  session?: string;
  player?: string;
  /** Only these event types (1 to 50). */
  types?: readonly string[];
  /** Server time at or after this RFC 3339 instant. */
  from?: string;
  /** Server time before this RFC 3339 instant. */
  to?: string;
  /** Start after this cursor (a page's `next`); default: the first page. */
  after?: string;
  /** Rows per request; the server caps it. */
  pageSize?: number;
};
