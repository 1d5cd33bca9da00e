import type { FeedEvent } from './feed.queries.js';

/** One session's delivered events, in the order the feed delivered them. */
export type SessionEvents = { tenantId: string; sessionId: string; events: FeedEvent[] };

/** The delivered events grouped by session; a session's events keep their delivery order. */
export function groupBySession(events: readonly FeedEvent[]): SessionEvents[] {
  const groups = new Map<string, SessionEvents>();
  for (const event of events) {
    const key = `${event.tenantId}/${event.sessionId}`;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { tenantId: event.tenantId, sessionId: event.sessionId, events: [event] });
    } else {
      group.events.push(event);
    }
  }
  return [...groups.values()];
}
