import { formatFeedPosition } from '../../../events/index.js';
import type { FeedEvent, FeedPage, FeedPosition } from '../../../events/index.js';

/** A delivered event as the API sends it (the tenant is the key's, so it is left out). */
export type FeedEventJson = {
  position: string;
  sessionId: string;
  sequence: number;
  previousSequence: number;
  eventId: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
  clientTime: string | null;
  serverTime: string;
  hash: string;
};

export type FeedPageJson = { events: FeedEventJson[]; next: string; held: boolean };

export function feedEventJson(event: FeedEvent): FeedEventJson {
  return {
    position: formatFeedPosition(event.position),
    sessionId: event.sessionId,
    sequence: event.sequence,
    previousSequence: event.previousSequence,
    eventId: event.eventId,
    type: event.type,
    version: event.version,
    data: event.data,
    clientTime: event.clientTime,
    serverTime: event.serverTime.toISOString(),
    hash: event.hash,
  };
}

/** The page, with `next` the last event's position or, on an empty page, where it started. */
export function feedPageJson(page: FeedPage, after: FeedPosition): FeedPageJson {
  const last = page.events.at(-1)?.position ?? after;
  return {
    events: page.events.map(feedEventJson),
    next: formatFeedPosition(last),
    held: page.held,
  };
}
