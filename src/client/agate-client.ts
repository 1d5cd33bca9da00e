import { uuidv7 } from 'uuidv7';
import { createAppendWriter, sendAppendMany } from './append-writer.js';
import type {
  AppendManyBatch,
  AppendManyResult,
  AppendWriter,
  AppendWriterOptions,
} from './append-writer.js';
import { AgateClientError, errorFromProblem } from './client-error.js';
import { feedIterator } from './feed-iterator.js';
import { defaultTransport, fetchTransport } from './http-transport.js';
import type { Transport, TransportAnswer } from './http-transport.js';
import { createConsumerClient } from './consumer-client.js';
import type { ConsumerClient } from './consumer-client.js';
import type { ConsumerOptions, FeedEvent } from './consumer-types.js';
import type {
  AgateClientOptions,
  AnalyticsOptions,
  AnalyticsPage,
  AppendOptions,
  AppendResult,
  CreateApiKeyInput,
  CreatedApiKey,
  CreatedSession,
  CreatedTenant,
  CreatePlayerInput,
  CreateSessionInput,
  EndSessionOptions,
  ErasedPlayer,
  EventPage,
  FeedOptions,
  FeedPage,
  GameClient,
  GameInfo,
  Leaderboard,
  LeaderboardOptions,
  NewEvent,
  PlayerExport,
  ReadEventsOptions,
  ReplayOptions,
  ReplayResult,
  RulesWithEvents,
  SessionInfo,
  SessionState,
  SnapshotInfo,
} from './client-types.js';

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
type Query = Record<string, string | number | boolean | undefined>;
type Call = {
  method: Method;
  path: string;
  query?: Query;
  body?: unknown;
  retry: boolean;
  signal?: AbortSignal;
};
type Answer = { status: number; body: unknown };

/** Statuses that say "not done, try again later"; a 4xx never changes by retrying. */
const retryableStatuses = new Set([502, 503, 504]);

/** Longest a call waits in total on 429 answers before it reports `rate_limited`. */
const maxRateLimitedWaitMs = 30_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A client of the agate HTTP API (v1) for one API key: keep one per process. Refusals throw
 * `AgateClientError` with the API's `code`.
 *
 * Retries: reads, `append`, `appendMany` and `endSession` are retried on network errors and
 * 502/503/504, up to `retries` times with exponential backoff, or after the answer's Retry-After
 * when longer (`tenant_moving` names one while a move switches the tenant); they are idempotent
 * because event ids are fixed before the first attempt. `createSession` is never retried: a lost
 * answer could otherwise create two sessions.
 *
 * Every call, `createSession` too, waits out a 429 (`rate_limited`: nothing was done) for the
 * Retry-After it names and is sent again, up to 30 s of waiting in all; then the 429 is thrown.
 *
 * Connections: in Node the client sends over node:http / node:https (by the `baseUrl`'s
 * protocol) with its own keep-alive agent, which reuses them, about one per concurrent call, and
 * lets the process exit while they are idle; every answer is read to its end so its connection
 * goes back to the pool. Outside Node, and whenever `fetch` is given, it sends through `fetch`.
 */
export class AgateClient {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #transport: Transport;

  constructor(options: AgateClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#retries = Math.max(0, Math.floor(options.retries ?? 3));
    this.#backoffMs = Math.max(0, options.backoffMs ?? 100);
    this.#transport =
      options.fetch === undefined ? defaultTransport() : fetchTransport(options.fetch);
  }

  async createSession(input: CreateSessionInput = {}): Promise<CreatedSession> {
    const answer = await this.#call({
      method: 'POST',
      path: '/v1/sessions',
      body: input,
      retry: false,
    });
    return answer.body as CreatedSession;
  }

  async getSession(sessionId: string): Promise<SessionInfo> {
    const answer = await this.#call({ method: 'GET', path: sessionPath(sessionId), retry: true });
    return answer.body as SessionInfo;
  }

  /**
   * Appends a batch atomically. Events without an `eventId` get a UUIDv7 before the first
   * attempt, so a retry is recognised by the server: `duplicate` is then true and the sequences
   * are the ones the batch got the first time.
   */
  async append(
    sessionId: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const withIds = events.map((e) => (e.eventId === undefined ? { ...e, eventId: uuidv7() } : e));
    const answer = await this.#call({
      method: 'POST',
      path: `${sessionPath(sessionId)}/events`,
      body: {
        expectedSequence: options.expectedSequence,
        events: withIds,
        verdicts: options.verdicts,
      },
      retry: true,
    });
    return {
      ...(answer.body as Omit<AppendResult, 'duplicate'>),
      duplicate: answer.status === 200,
    };
  }

  /**
   * Appends to up to 64 sessions in one request and one commit (`POST /v1/appends`), retried like
   * `append` (event ids fixed before the first attempt). Each session's result comes back in
   * order, `ok: false` for a session whose batch was not stored (`session_busy`: retry it).
   */
  async appendMany(batches: readonly AppendManyBatch[]): Promise<AppendManyResult> {
    return sendAppendMany((call) => this.#call(call), batches);
  }

  /** A buffer that sends many sessions' appends together through `appendMany`. */
  writer(options: AppendWriterOptions = {}): AppendWriter {
    return createAppendWriter((batches) => this.appendMany(batches), options);
  }

  /**
   * The calls whose payloads depend on the game, typed for the rules `R` (a type only: pass
   * `typeof archiveGateV1`, or your own rules made with `defineEventTypes`):
   * `client.game<typeof archiveGateV1>().append(sessionId, events)` refuses at compile time an
   * event type the game does not define or data its schema does not accept. The session must
   * play that game; the server checks it either way.
   */
  game<R extends RulesWithEvents>(): GameClient<R> {
    return {
      append: (sessionId, events, options) => this.append(sessionId, events, options),
    };
  }

  /** The games the server runs, with the JSON Schema of every event type (`GET /v1/games`). */
  async games(): Promise<GameInfo[]> {
    const answer = await this.#call({ method: 'GET', path: '/v1/games', retry: true });
    return (answer.body as { games: GameInfo[] }).games;
  }

  /** One rules version the server runs; `not_found` (404) when it runs no such version. */
  async getGame(rules: string, version: number): Promise<GameInfo> {
    const path = `/v1/games/${encodeURIComponent(rules)}/${encodeURIComponent(String(version))}`;
    return (await this.#call({ method: 'GET', path, retry: true })).body as GameInfo;
  }

  /** The session's snapshots, newest first, without their states. */
  async snapshots(sessionId: string): Promise<SnapshotInfo[]> {
    const path = `${sessionPath(sessionId)}/snapshots`;
    const answer = await this.#call({ method: 'GET', path, retry: true });
    return (answer.body as { snapshots: SnapshotInfo[] }).snapshots;
  }

  /** The top verified scores of ended sessions, highest first. */
  async leaderboard(options: LeaderboardOptions = {}): Promise<Leaderboard> {
    const answer = await this.#call({
      method: 'GET',
      path: '/v1/leaderboard',
      query: { rules: options.rules, limit: options.limit },
      retry: true,
    });
    return answer.body as Leaderboard;
  }

  /**
   * Creates a player (game server or admin keys); sessions then name it by `id`. Never retried,
   * like `createSession`: a lost answer could otherwise create two players.
   */
  async createPlayer(input: CreatePlayerInput = {}): Promise<{ id: string }> {
    const answer = await this.#call({
      method: 'POST',
      path: '/v1/players',
      body: input,
      retry: false,
    });
    return answer.body as { id: string };
  }

  /** Everything held about a player, PII included (admin keys; the server audits it). */
  async exportPlayer(playerId: string): Promise<PlayerExport> {
    const path = `${playerPath(playerId)}/export`;
    return (await this.#call({ method: 'GET', path, retry: true })).body as PlayerExport;
  }

  /** Erases a player's PII (admin keys); idempotent, so it is retried like a read. */
  async erasePlayer(playerId: string): Promise<ErasedPlayer> {
    const path = playerPath(playerId);
    return (await this.#call({ method: 'DELETE', path, retry: true })).body as ErasedPlayer;
  }

  /**
   * analytics.events of the tenant (analyst or admin keys), one page per iteration, in server-time
   * order, until the filtered range ends.
   */
  async *analyticsEvents(
    options: AnalyticsOptions = {},
  ): AsyncGenerator<AnalyticsPage, void, undefined> {
    const { session, player, types, from, to, pageSize } = options;
    let after = options.after;
    for (;;) {
      const answer = await this.#call({
        method: 'GET',
        path: '/v1/analytics/events',
        query: { session, player, type: types?.join(','), from, to, after, limit: pageSize },
        retry: true,
      });
      const page = answer.body as AnalyticsPage;
      yield page;
      if (page.next === null) return;
      after = page.next;
    }
  }

  /**
   * Creates an API key in the admin's own tenant; `key` is shown only in this answer. Never
   * retried: a lost answer would leave a key nobody holds (revoke it by id).
   */
  async createApiKey(input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const answer = await this.#call({
      method: 'POST',
      path: '/v1/api-keys',
      body: input,
      retry: false,
    });
    return answer.body as CreatedApiKey;
  }

  /** Revokes an API key of the admin's own tenant; `not_found` when the tenant has no such key. */
  async revokeApiKey(keyId: string): Promise<void> {
    const path = `/v1/api-keys/${encodeURIComponent(keyId)}`;
    await this.#call({ method: 'DELETE', path, retry: true });
  }

  /**
   * Creates a tenant and its first admin key: for an operator key (`ago_…`) only. Never retried.
   * `placement`: `shared` (default) or `database:<name>`, a server the API is configured with.
   */
  async createTenant(name: string, options: { placement?: string } = {}): Promise<CreatedTenant> {
    const answer = await this.#call({
      method: 'POST',
      path: '/v1/tenants',
      body: options.placement === undefined ? { name } : { name, placement: options.placement },
      retry: false,
    });
    return answer.body as CreatedTenant;
  }

  /** The session's events, one page per iteration, until the last stored one. */
  async *readEvents(
    sessionId: string,
    options: ReadEventsOptions = {},
  ): AsyncGenerator<EventPage, void, undefined> {
    let after = options.after ?? 0;
    for (;;) {
      const answer = await this.#call({
        method: 'GET',
        path: `${sessionPath(sessionId)}/events`,
        query: { after, limit: options.pageSize, minSequence: options.minSequence },
        retry: true,
      });
      const page = answer.body as EventPage;
      yield page;
      if (page.nextAfter === null) return;
      if (!(page.nextAfter > after)) {
        throw new AgateClientError(
          'unexpected_response',
          answer.status,
          `The server returned nextAfter ${page.nextAfter} after ${after}; it must move forward.`,
        );
      }
      after = page.nextAfter;
    }
  }

  async state(sessionId: string): Promise<SessionState> {
    const path = `${sessionPath(sessionId)}/state`;
    return (await this.#call({ method: 'GET', path, retry: true })).body as SessionState;
  }

  /** Replays the session on the server (analyst or admin keys); the server audits every replay. */
  async replay(sessionId: string, options: ReplayOptions = {}): Promise<ReplayResult> {
    const { to, from, verify, trace, minSequence } = options;
    const answer = await this.#call({
      method: 'GET',
      path: `${sessionPath(sessionId)}/replay`,
      query: { to, from, verify, trace, minSequence },
      retry: true,
    });
    return answer.body as ReplayResult;
  }

  /** Ends the session with a `session.ended` event, its id fixed so a retry is idempotent. */
  async endSession(sessionId: string, options: EndSessionOptions = {}): Promise<AppendResult> {
    const answer = await this.#call({
      method: 'POST',
      path: `${sessionPath(sessionId)}/end`,
      body: { ...options, eventId: uuidv7() },
      retry: true,
    });
    return {
      ...(answer.body as Omit<AppendResult, 'duplicate'>),
      duplicate: answer.status === 200,
    };
  }

  /**
   * The tenant's feed (`GET /v1/feed`), event by event, each once and in feed order. It reads
   * JSON pages, reconnects with backoff after network errors and 502/503/504 for as long as it
   * runs (abort `signal` to stop), resuming after the last event it yielded. It checks each
   * session's contiguity itself (`previousSequence` against the last sequence it yielded) and
   * throws `feed_gap` on a hole.
   */
  feed(options: FeedOptions = {}): AsyncIterable<FeedEvent> {
    return feedIterator(async (query, signal) => {
      const answer = await this.#call({
        method: 'GET',
        path: '/v1/feed',
        query,
        retry: true,
        signal,
      });
      return answer.body as FeedPage;
    }, options);
  }

  /**
   * A durable consumer of the tenant's feed (`/v1/consumers/{name}`): `run` a handler in a
   * group that shares the consumer by session, or drive join, receive and checkpoint yourself.
   */
  consumer(name: string, options: ConsumerOptions = {}): ConsumerClient {
    return createConsumerClient((call) => this.#call(call), name, options);
  }

  async #call(call: Call): Promise<Answer> {
    let attempt = 0;
    let rateLimitedMs = 0;
    for (;;) {
      const canRetry = call.retry && attempt < this.#retries;
      let answer: TransportAnswer;
      try {
        answer = await this.#send(call);
      } catch (error) {
        if (call.signal?.aborted === true) throw call.signal.reason;
        if (!canRetry) throw networkError(call, attempt + 1, error);
        await delay(this.#backoff(attempt));
        attempt += 1;
        continue;
      }
      const wait = answer.status === 429 ? retryAfterMs(answer.retryAfter) : undefined;
      if (wait !== undefined && rateLimitedMs + wait <= maxRateLimitedWaitMs) {
        // Not a failed attempt: the server did nothing, so the retry budget is kept.
        rateLimitedMs += wait;
        await delay(wait);
        continue;
      }
      if (canRetry && retryableStatuses.has(answer.status)) {
        await delay(this.#retryDelay(attempt, answer.retryAfter));
        attempt += 1;
        continue;
      }
      if (answer.status === 204) return { status: 204, body: undefined };
      const body = parseJson(answer.text);
      if (answer.status >= 200 && answer.status < 300 && body !== undefined) {
        return { status: answer.status, body };
      }
      throw errorFromProblem(answer.status, body);
    }
  }

  /** One attempt; throws only when no whole answer arrived (the body is read inside). */
  #send(call: Call): Promise<TransportAnswer> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      accept: 'application/json, application/problem+json',
    };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    return this.#transport({
      method: call.method,
      url: `${this.#baseUrl}${call.path}${queryString(call.query)}`,
      headers,
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
  }

  /**
   * The backoff, or the answer's Retry-After when that is longer (a 503 `tenant_moving` names
   * when the move's switch is worth trying again), at most the 429 budget of 30 s.
   */
  #retryDelay(attempt: number, retryAfter: string | null): number {
    const backoff = this.#backoff(attempt);
    if (retryAfter === null) return backoff;
    return Math.max(backoff, Math.min(retryAfterMs(retryAfter), maxRateLimitedWaitMs));
  }

  /** Exponential, with jitter so that many clients refused together do not return together. */
  #backoff(attempt: number): number {
    return this.#backoffMs * 2 ** attempt * (0.5 + Math.random() / 2);
  }
}

function sessionPath(sessionId: string): string {
  return `/v1/sessions/${encodeURIComponent(sessionId)}`;
}

function playerPath(playerId: string): string {
  return `/v1/players/${encodeURIComponent(playerId)}`;
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Retry-After as seconds (what agate sends) or an HTTP date; 1 s when missing or unreadable. */
function retryAfterMs(header: string | null): number {
  const text = header?.trim() ?? '';
  if (/^\d+$/.test(text)) return Math.max(1, Number(text)) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 1000 : Math.max(1000, at - Date.now());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function networkError(call: Call, attempts: number, cause: unknown): AgateClientError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AgateClientError(
    'network_error',
    0,
    `${call.method} ${call.path} got no answer after ${attempts} attempt(s) (${reason}); check that the server is reachable at baseUrl, then retry.`,
    {},
    { cause },
  );
}
