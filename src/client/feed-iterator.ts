import { AgateClientError, isAgateClientError } from './client-error.js';
import type { FeedOptions, FeedPage } from './client-types.js';
import type { FeedEvent } from './consumer-types.js';
import { pause } from './pause.js';

export type FeedQuery = Record<string, string | number | undefined>;

/** One request for a page; rejects with `AgateClientError` (or the signal's reason). */
export type FetchFeedPage = (
  query: FeedQuery,
  signal: AbortSignal | undefined,
) => Promise<FeedPage>;

const startPosition = '0:00000000-0000-0000-0000-000000000000:0';
const heldMs = 20;
const reconnectStatuses = new Set([0, 502, 503, 504]);

/**
 * Checks what the feed guarantees, on the client's side, so that a hole is loud even if the
 * server's ordering were wrong: within a session, each event's `previousSequence` is the last
 * sequence yielded for it. From the start of the feed, a session's first event has none before.
 */
function contiguityCheck(fromStart: boolean): (event: FeedEvent) => void {
  const last = new Map<string, number>();
  return (event) => {
    const seen = last.get(event.sessionId);
    const expected = seen ?? (fromStart ? 0 : undefined);
    if (expected !== undefined && event.previousSequence !== expected) {
      throw new AgateClientError(
        'feed_gap',
        0,
        `Session ${event.sessionId}: the feed delivered sequence ${event.sequence} after ${event.previousSequence}, but the last one this reader received was ${expected}; the events between were not delivered. Report it with both positions; read the session with readEvents to recover.`,
        { sessionId: event.sessionId, sequence: event.sequence, lastSequence: expected },
      );
    }
    last.set(event.sessionId, event.sequence);
  };
}

function reconnectable(error: unknown): boolean {
  return (
    isAgateClientError(error) &&
    reconnectStatuses.has(error.status) &&
    (error.status !== 0 || error.code === 'network_error')
  );
}

/**
 * The feed as an async iterable of events, read page by page: each event is yielded once, in
 * feed order; a lost connection or a 502/503/504 is retried with backoff (without limit: abort
 * the signal to stop), resuming after the last event yielded.
 */
export async function* feedIterator(
  fetchPage: FetchFeedPage,
  options: FeedOptions,
): AsyncGenerator<FeedEvent, void, undefined> {
  const { signal } = options;
  const follow = options.follow ?? true;
  const idleMs = options.idleMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const fromStart =
    options.from !== 'now' && (options.after === undefined || options.after === startPosition);
  const check = contiguityCheck(fromStart);
  const filters = {
    limit: options.pageSize,
    types: options.types === undefined ? undefined : options.types.join(','),
    session: options.session,
  };
  let start: FeedQuery =
    options.after !== undefined ? { after: options.after } : { from: options.from ?? 'start' };
  let failures = 0;
  let heldReads = 0;
  const stopped = () => signal?.aborted === true;
  while (!stopped()) {
    let page: FeedPage;
    try {
      page = await fetchPage({ ...start, ...filters }, signal);
    } catch (error) {
      if (stopped()) return;
      if (!reconnectable(error)) throw error;
      const backoff = Math.min(maxBackoffMs, 100 * 2 ** failures);
      failures += 1;
      await pause(backoff * (0.5 + Math.random() / 2), signal);
      continue;
    }
    failures = 0;
    for (const event of page.events) {
      check(event);
      yield event;
      if (stopped()) return;
    }
    start = { after: page.next };
    heldReads = page.held && page.events.length === 0 ? heldReads + 1 : 0;
    if (page.events.length > 0) continue;
    if (!follow && !page.held) return;
    // Held: soon, then less often while a long transaction elsewhere keeps holding the feed.
    await pause(page.held ? Math.min(idleMs, heldMs * 2 ** (heldReads - 1)) : idleMs, signal);
  }
}
