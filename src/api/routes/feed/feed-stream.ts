import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatFeedPosition } from '../../../events/index.js';
import type { FeedPage, FeedPosition } from '../../../events/index.js';
import { feedEventJson } from './feed-json.js';

export type FeedStreamOptions = {
  /** Pause between reads when the reader is caught up (default 200 ms). */
  idlePollMs: number;
  /**
   * Pause between reads while committed events wait behind an open transaction (default 20 ms),
   * doubled while they stay held, up to `idlePollMs`.
   */
  heldPollMs: number;
  /** A `: keep-alive` comment this often, so proxies keep an idle stream open (default 15 s). */
  heartbeatMs: number;
};

export const defaultFeedStreamOptions: FeedStreamOptions = {
  idlePollMs: 200,
  heldPollMs: 20,
  heartbeatMs: 15_000,
};

/** The streams a server has open, so that closing it ends them instead of waiting for them. */
export type OpenStreams = Set<() => void>;

export type FeedStreamInput = {
  /** One page after a position, in its own short transaction. */
  read: (after: FeedPosition) => Promise<FeedPage>;
  after: FeedPosition;
  limit: number;
  options: FeedStreamOptions;
  streams: OpenStreams;
};

/**
 * How long to wait before the next read of a stream that is not behind: the idle poll, or while
 * events are held, the held poll doubled on each read that is still held, up to the idle poll
 * (a long transaction elsewhere can hold the feed for minutes).
 */
function pauseAfter(page: FeedPage, heldReads: number, options: FeedStreamOptions): number {
  if (!page.held) return options.idlePollMs;
  return Math.min(options.idlePollMs, options.heldPollMs * 2 ** Math.max(0, heldReads - 1));
}

function frame(event: FeedPage['events'][number]): string {
  const id = formatFeedPosition(event.position);
  return `id: ${id}\nevent: feed.event\ndata: ${JSON.stringify(feedEventJson(event))}\n\n`;
}

/**
 * Answers with Server-Sent Events and keeps reading the feed until the client goes away or the
 * server closes. The first page is read before anything is sent, so a failure there is still a
 * problem document; a failure later ends the stream (the client resumes with Last-Event-ID).
 * Each page is its own transaction: nothing is held open between reads.
 */
export async function sendFeedStream(
  request: FastifyRequest,
  reply: FastifyReply,
  input: FeedStreamInput,
): Promise<FastifyReply> {
  const first = await input.read(input.after);
  const { options } = input;
  const stop = new AbortController();
  const { signal } = stop;
  const end = () => stop.abort();
  const raw = reply.raw;
  const socket = request.raw.socket;
  reply.hijack();
  // Headers the hooks set (x-request-id) go out with the stream's own.
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) raw.setHeader(name, typeof value === 'number' ? String(value) : value);
  }
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    // A stream ends only when one side goes away: its connection is not reused.
    connection: 'close',
  });
  raw.flushHeaders();
  raw.on('close', end);
  input.streams.add(end);
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), options.heartbeatMs);
  const write = async (text: string) => {
    if (raw.write(text) || signal.aborted) return;
    await once(raw, 'drain', { signal }).catch(() => undefined);
  };
  const pause = (ms: number) => sleep(ms, undefined, { signal }).catch(() => undefined);
  try {
    let page = first;
    let after = input.after;
    let heldReads = 0;
    while (!signal.aborted) {
      for (const event of page.events) {
        if (signal.aborted) break;
        await write(frame(event));
        after = event.position;
      }
      if (signal.aborted) break;
      heldReads = page.held && page.events.length === 0 ? heldReads + 1 : 0;
      if (page.events.length < input.limit) {
        await pause(pauseAfter(page, heldReads, options));
        if (signal.aborted) break;
      }
      page = await input.read(after);
    }
  } catch (error) {
    request.log.warn({ err: error }, 'feed stream ended by a failed read');
  } finally {
    clearInterval(heartbeat);
    input.streams.delete(end);
    raw.off('close', end);
    // The connection goes with the stream, even where the client went away without closing it.
    if (raw.writableEnded || raw.destroyed) socket.destroy();
    else raw.end(() => socket.destroy());
  }
  return reply;
}
