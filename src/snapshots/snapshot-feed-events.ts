import { isAgateError } from '../errors/index.js';
import { groupBySession, sessionOrigins } from '../events/index.js';
import type { FeedEvent, SessionEvents, SessionOrigins } from '../events/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { boundaryAt } from './boundaries.js';
import type { Boundary } from './boundaries.js';
import { writeSnapshot } from './write-snapshot.js';

/** The day-boundary types of the session's rules; read only when one of its events may be one. */
async function dayBoundaryTypesOf(
  deps: ReplayDeps,
  origins: SessionOrigins,
  group: SessionEvents,
): Promise<readonly string[] | undefined> {
  const anyGame = new Set(deps.games.list().flatMap((g) => g.dayBoundaryTypes));
  if (!group.events.some((e) => anyGame.has(e.type))) return [];
  const session = await origins.get(group);
  return deps.games.find(session.rules, session.rulesVersion)?.dayBoundaryTypes;
}

async function boundariesOf(
  deps: ReplayDeps,
  origins: SessionOrigins,
  group: SessionEvents,
): Promise<Boundary[]> {
  const dayTypes = await dayBoundaryTypesOf(deps, origins, group);
  // Rules this build does not register cannot be replayed: nothing to snapshot.
  if (dayTypes === undefined) return [];
  const found: Boundary[] = [];
  for (const event of group.events) {
    const reason = boundaryAt(event.sequence, event.type, dayTypes);
    if (reason !== null) found.push({ sequence: event.sequence, reason });
  }
  return found;
}

/**
 * The snapshotter as a consumer of the feed: writes the snapshots the delivered events call for
 * (every 50th sequence and every event that ends one of the game's days).
 * Needs every event type, since any event may land on an interval. Safe to run again on the same
 * events (writeSnapshot is idempotent on session and sequence), so it suits at-least-once
 * delivery. A session that no longer exists or plays rules this build does not register is
 * skipped; any other failure is thrown, so the batch is delivered again. Returns how many
 * snapshots it wrote.
 */
export async function snapshotFeedEvents(
  deps: ReplayDeps,
  events: readonly FeedEvent[],
  origins: SessionOrigins = sessionOrigins(deps),
): Promise<number> {
  let written = 0;
  for (const group of groupBySession(events)) {
    try {
      for (const boundary of await boundariesOf(deps, origins, group)) {
        const result = await writeSnapshot(deps, { ...group, ...boundary });
        if (result.created) written += 1;
      }
    } catch (error) {
      if (!isAgateError(error, 'session_not_found') && !isAgateError(error, 'unknown_rules')) {
        throw error;
      }
    }
  }
  return written;
}
