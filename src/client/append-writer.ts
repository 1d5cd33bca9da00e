import { uuidv7 } from 'uuidv7';
import { AgateClientError } from './client-error.js';
import type { ProblemCode } from './client-error.js';
import type { AppendedEvent, NewEvent } from './client-types.js';

/** One session's batch of `AgateClient.appendMany`. */
export type AppendManyBatch = {
  sessionId: string;
  events: readonly NewEvent[];
  /** Optimistic concurrency for this session only. */
  expectedSequence?: number;
};

export type SessionAppended = {
  sessionId: string;
  ok: true;
  /** Every event was stored before (a retry): nothing new was written. */
  duplicate: boolean;
  firstSequence: number;
  lastSequence: number;
  events: AppendedEvent[];
};

/** Nothing of this session's batch was stored; `session_busy` is worth retrying as it is. */
export type SessionRefused = {
  sessionId: string;
  ok: false;
  code: ProblemCode;
  message: string;
  currentSequence?: number;
  /** With event_id_conflict or a bad event: which event of the batch. */
  index?: number;
  eventId?: string;
};

export type SessionAppendResult = SessionAppended | SessionRefused;

/** `POST /v1/appends`' answer: one result per batch, in the request's order. */
export type AppendManyResult = { results: SessionAppendResult[] };

/** How the writer reaches the API: the client's own retrying call. */
export type AppendsTransport = (call: {
  method: 'POST';
  path: string;
  body: unknown;
  retry: boolean;
}) => Promise<{ status: number; body: unknown }>;

/** The batches with every event id fixed, then one retried `POST /v1/appends`. */
export async function sendAppendMany(
  transport: AppendsTransport,
  batches: readonly AppendManyBatch[],
): Promise<AppendManyResult> {
  const sessions = batches.map((b) => ({ ...b, events: withIds(b.events) }));
  const answer = await transport({
    method: 'POST',
    path: '/v1/appends',
    body: { sessions },
    retry: true,
  });
  return answer.body as AppendManyResult;
}

function withIds(events: readonly NewEvent[]): NewEvent[] {
  return events.map((e) => (e.eventId === undefined ? { ...e, eventId: uuidv7() } : e));
}

export type AppendWriterOptions = {
  /** Longest an event waits in the buffer before it is sent (default 10 ms). */
  maxDelayMs?: number;
  /** Events buffered that send the buffer at once (default 500). */
  maxEvents?: number;
};

export type AppendWriter = {
  /**
   * Buffers the events for `sessionId`, merged with that session's other buffered events, and
   * resolves with this call's part of the session's result once the request is answered
   * (`ok: false` results resolve too; a request refused as a whole rejects).
   */
  append(sessionId: string, events: readonly NewEvent[]): Promise<SessionAppendResult>;
  /** Sends what is buffered and resolves when every request sent so far is answered. */
  flush(): Promise<void>;
  /** `flush`, then refuses further appends. */
  close(): Promise<void>;
};

/** The most sessions one `POST /v1/appends` takes (the server's `maxSessionsPerAppend`). */
const maxSessions = 64;

type Waiter = {
  offset: number;
  count: number;
  resolve: (result: SessionAppendResult) => void;
  reject: (error: unknown) => void;
};
type Pending = { events: NewEvent[]; waiters: Waiter[] };

/**
 * A buffer in front of `appendMany`: one request carries every session that had events within
 * `maxDelayMs`. Requests go one at a time, so each session's events are stored in the order
 * they were appended; ids are fixed when buffered, so the client's retries stay idempotent.
 */
export function createAppendWriter(
  appendMany: (batches: readonly AppendManyBatch[]) => Promise<AppendManyResult>,
  options: AppendWriterOptions = {},
): AppendWriter {
  const maxDelayMs = Math.max(0, options.maxDelayMs ?? 10);
  const maxEvents = Math.max(1, Math.floor(options.maxEvents ?? 500));
  let buffer = new Map<string, Pending>();
  let buffered = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sending: Promise<void> = Promise.resolve();
  let closed = false;

  function sendBuffer(): Promise<void> {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (buffer.size === 0) return sending;
    const taken = buffer;
    buffer = new Map();
    buffered = 0;
    sending = sending.then(() => deliver(appendMany, taken));
    return sending;
  }

  function append(sessionId: string, events: readonly NewEvent[]): Promise<SessionAppendResult> {
    if (closed) {
      return Promise.reject(
        new AgateClientError('invalid_request', 0, 'This writer is closed; create a new one.'),
      );
    }
    if (buffered > 0 && buffered + events.length > maxEvents) void sendBuffer();
    if (!buffer.has(sessionId) && buffer.size >= maxSessions) void sendBuffer();
    const pending = buffer.get(sessionId) ?? { events: [], waiters: [] };
    buffer.set(sessionId, pending);
    const result = new Promise<SessionAppendResult>((resolve, reject) => {
      pending.waiters.push({
        offset: pending.events.length,
        count: events.length,
        resolve,
        reject,
      });
    });
    pending.events.push(...withIds(events));
    buffered += events.length;
    if (buffered >= maxEvents || buffer.size >= maxSessions) void sendBuffer();
    else timer ??= setTimeout(() => void sendBuffer(), maxDelayMs);
    return result;
  }

  return {
    append,
    flush: sendBuffer,
    close: () => {
      closed = true;
      return sendBuffer();
    },
  };
}

/** One request for `taken`; never rejects (each waiter gets its part, or the request's error). */
async function deliver(
  appendMany: (batches: readonly AppendManyBatch[]) => Promise<AppendManyResult>,
  taken: Map<string, Pending>,
): Promise<void> {
  const sessions = [...taken.entries()];
  let answer: AppendManyResult;
  try {
    answer = await appendMany(sessions.map(([sessionId, p]) => ({ sessionId, events: p.events })));
  } catch (error) {
    for (const [, p] of sessions) for (const w of p.waiters) w.reject(error);
    return;
  }
  sessions.forEach(([sessionId, p], i) => {
    const result = answer.results[i];
    for (const w of p.waiters) {
      if (result === undefined) {
        w.reject(new AgateClientError('unexpected_response', 200, `No result for ${sessionId}.`));
      } else {
        w.resolve(partOf(result, w));
      }
    }
  });
}

/** A waiter's own events of a merged batch's result. */
function partOf(result: SessionAppendResult, waiter: Waiter): SessionAppendResult {
  if (!result.ok) return result;
  const events = result.events.slice(waiter.offset, waiter.offset + waiter.count);
  return {
    ...result,
    firstSequence: events[0]?.sequence ?? result.firstSequence,
    lastSequence: events.at(-1)?.sequence ?? result.lastSequence,
    events,
  };
}
