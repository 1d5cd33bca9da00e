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

/**
 * Runs `handle` on each session's group, up to `concurrency` groups at once (sessions are
 * independent; one session's events stay in one call, in order). Every started call settles
 * before it returns; the first failure is then thrown. For consumers whose work per session
 * waits on round trips (Redis, PostgreSQL) rather than this process's CPU.
 */
export async function forEachSession(
  groups: readonly SessionEvents[],
  concurrency: number,
  handle: (group: SessionEvents) => Promise<void>,
): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const lane = async () => {
    while (next < groups.length && failures.length === 0) {
      const group = groups[next];
      next += 1;
      if (group === undefined) return;
      try {
        await handle(group);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, groups.length)) }, lane),
  );
  if (failures.length > 0) throw failures[0];
}
