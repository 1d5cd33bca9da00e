import { withTenant } from '../db/index.js';
import { isAgateError } from '../errors/index.js';
import {
  forEachSession,
  groupBySession,
  insertSnapshots,
  sessionOrigins,
} from '../events/index.js';
import type {
  FeedEvent,
  NewSnapshot,
  SessionEvents,
  SessionOrigin,
  SessionOrigins,
} from '../events/index.js';
import type { GameRules } from '../game/index.js';
import { createFolder, foldSessionOf, replaySession, stateHash } from '../../replay/index.js';
import type { FoldStart, ReplayDeps } from '../../replay/index.js';
import { boundaryAt } from './boundaries.js';

/**
 * The state each session reached at the end of the last batch the snapshotter folded, so that the
 * next batch of that session folds on from it instead of replaying: bounded, oldest out first.
 */
export type SnapshotMemory = {
  get(key: string): FoldStart | undefined;
  set(key: string, start: FoldStart): void;
};

/** Sessions of a batch folded at once: one without a remembered state waits on a replay. */
const sessionsAtOnce = 4;

export function snapshotMemory(capacity = 2_000): SnapshotMemory {
  const entries = new Map<string, FoldStart>();
  return {
    get: (key) => entries.get(key),
    set(key, start) {
      entries.delete(key);
      entries.set(key, start);
      if (entries.size > capacity) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
    },
  };
}

/** The state right before the batch, by a replay (from the newest snapshot below it). */
async function replayedStart(
  deps: ReplayDeps,
  group: SessionEvents,
  first: number,
): Promise<FoldStart> {
  const replayed = await replaySession(deps, { ...group, to: first - 1 });
  return { sequence: replayed.sequence, state: replayed.state };
}

type Found = { snapshots: NewSnapshot[]; end: FoldStart };

function foldGroup(
  rules: GameRules,
  origin: SessionOrigin,
  start: FoldStart,
  group: SessionEvents,
): Found {
  const folder = createFolder(rules, foldSessionOf(origin), start);
  const snapshots: NewSnapshot[] = [];
  for (const event of group.events) {
    folder.apply(event);
    const reason = boundaryAt(event.sequence, event.type, rules.dayBoundaryTypes);
    if (reason === null) continue;
    snapshots.push({
      tenantId: origin.tenantId,
      sessionId: origin.id,
      sequence: event.sequence,
      rulesVersion: origin.rulesVersion,
      state: folder.state,
      stateHash: stateHash(folder.state),
      reason,
    });
  }
  const last = group.events.at(-1);
  const end = {
    sequence: folder.sequence,
    state: folder.state,
    previousHash: last === undefined ? undefined : Buffer.from(last.hash, 'hex'),
  };
  return { snapshots, end };
}

/**
 * One session's snapshots for its delivered events: the day-boundary and interval sequences
 * among them, each with the state the fold reaches there. Folded by replay's own fold (the
 * session's rules, the events' recorded seeds, upcasting, the chain checked from the remembered
 * head), so each state is the one a replay to that sequence gives.
 */
async function snapshotsOf(
  deps: ReplayDeps,
  origins: SessionOrigins,
  memory: SnapshotMemory,
  group: SessionEvents,
): Promise<NewSnapshot[]> {
  const first = group.events[0]?.sequence;
  if (first === undefined) return [];
  const origin = await origins.get(group);
  const rules = deps.games.find(origin.rules, origin.rulesVersion);
  // Rules this build does not register cannot be replayed: nothing to snapshot.
  if (rules === undefined) return [];
  const key = `${group.tenantId}/${group.sessionId}`.toLowerCase();
  const known = memory.get(key);
  // Nothing due and nothing to fold on from: no read (the next batch replays if it needs to).
  const due = group.events.some((e) => boundaryAt(e.sequence, e.type, rules.dayBoundaryTypes));
  if (!due && known?.sequence !== first - 1) return [];
  let found: Found;
  if (known?.sequence === first - 1) {
    try {
      found = foldGroup(rules, origin, known, group);
    } catch (error) {
      // The remembered head does not chain to these events: trust only the stored log.
      if (!isAgateError(error, 'integrity_violation')) throw error;
      found = foldGroup(rules, origin, await replayedStart(deps, group, first), group);
    }
  } else {
    found = foldGroup(rules, origin, await replayedStart(deps, group, first), group);
  }
  memory.set(key, found.end);
  return found.snapshots;
}

/**
 * The snapshotter as a consumer of the feed: writes the snapshots the delivered events call for
 * (every 50th sequence and every event that ends one of the game's days), all of a batch in one
 * transaction. Needs every event type, since any event may land on an interval. Safe to run
 * again on the same events (one snapshot per session and sequence: a second insert writes
 * nothing), so it suits at-least-once delivery. A session that no longer exists or plays rules
 * this build does not register is skipped; any other failure is thrown, so the batch is
 * delivered again (and each of its sessions replayed, as `memory` then no longer stands right
 * before it). Returns how many snapshots it wrote.
 */
export async function snapshotFeedEvents(
  deps: ReplayDeps,
  events: readonly FeedEvent[],
  origins: SessionOrigins = sessionOrigins(deps),
  memory: SnapshotMemory = snapshotMemory(),
): Promise<number> {
  const due = new Map<string, NewSnapshot[]>();
  await forEachSession(groupBySession(events), sessionsAtOnce, async (group) => {
    try {
      const found = await snapshotsOf(deps, origins, memory, group);
      if (found.length > 0) due.set(group.tenantId, [...(due.get(group.tenantId) ?? []), ...found]);
    } catch (error) {
      if (!isAgateError(error, 'session_not_found') && !isAgateError(error, 'unknown_rules')) {
        throw error;
      }
    }
  });
  let written = 0;
  for (const [tenantId, snapshots] of due) {
    written += await withTenant(deps.pool, { tenantId }, (tx) => insertSnapshots(tx, snapshots));
  }
  return written;
}
