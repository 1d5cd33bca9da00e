import type { Redis } from 'ioredis';
import { isAgateError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import { forEachSession, groupBySession, sessionOrigins } from '../events/index.js';
import type { SessionEvents, SessionOrigins } from '../events/index.js';
import type { ConsumerDefinition } from '../feed/index.js';
import { createFolder, foldSessionOf, replaySession, stateHash } from '../../replay/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { recordError } from './cache-health.js';
import type { CacheHealth } from './cache-health.js';
import { fetchHotState, writeHotState } from './hot-state.js';
import type { HotState } from './hot-state.js';
import { isUsable } from './redis-client.js';

export const hotStateConsumerName = 'agate.hot-state';

/** Sessions of a batch brought up to date at once: each waits on Redis round trips. */
const sessionsAtOnce = 8;

/** How a session's delivered events reached the hot state (the tests and the metrics read it). */
export type HotStateUpdate = 'folded' | 'replayed' | 'current' | 'skipped' | 'failed';

/**
 * The state after the delivered events, folded on top of the cached entry (replay's pure fold:
 * the session's rules, the events' recorded seeds, upcasting), when the events after the entry's
 * sequence follow right on from it. Undefined when they do not or the fold refuses them.
 */
async function foldOnCache(
  deps: ReplayDeps,
  origins: SessionOrigins,
  group: SessionEvents,
  cached: HotState,
): Promise<HotState | undefined> {
  const after = group.events.filter((e) => e.sequence > cached.sequence);
  if (after[0]?.sequence !== cached.sequence + 1) return undefined;
  const session = await origins.get(group);
  const rules = deps.games.find(session.rules, session.rulesVersion);
  if (rules === undefined) return undefined;
  const folder = createFolder(rules, foldSessionOf(session), {
    sequence: cached.sequence,
    state: cached.state,
  });
  try {
    for (const event of after) folder.apply(event);
  } catch (error) {
    if (isAgateError(error, 'integrity_violation')) return undefined;
    throw error;
  }
  return { sequence: folder.sequence, stateHash: stateHash(folder.state), state: folder.state };
}

async function stateAfter(
  deps: ReplayDeps,
  origins: SessionOrigins,
  group: SessionEvents,
  cached: HotState | undefined,
): Promise<{ how: 'folded' | 'replayed'; state: HotState }> {
  if (cached !== undefined) {
    const folded = await foldOnCache(deps, origins, group, cached);
    if (folded !== undefined) return { how: 'folded', state: folded };
  }
  const to = group.events.at(-1)?.sequence ?? 0;
  const replayed = await replaySession(deps, { ...group, to });
  const state = {
    sequence: replayed.sequence,
    stateHash: replayed.stateHash,
    state: replayed.state,
  };
  return { how: 'replayed', state };
}

/** Skips what can never be replayed here; everything else (PostgreSQL down) is thrown to retry. */
const unreplayable: readonly ErrorCode[] = [
  'session_not_found',
  'unknown_rules',
  'integrity_violation',
];

/**
 * Brings one session's hot state to its last delivered event. Never writes an older state over a
 * newer one (writeHotState compares sequences in Redis).
 */
export async function updateHotState(
  deps: ReplayDeps,
  redis: Redis,
  health: CacheHealth,
  group: SessionEvents,
  origins: SessionOrigins = sessionOrigins(deps),
): Promise<HotStateUpdate> {
  if (!isUsable(redis)) {
    recordError(health, new Error(`Redis is ${redis.status}; hot state not updated.`));
    return 'failed';
  }
  const cached = await fetchHotState(redis, health, group);
  const last = group.events.at(-1)?.sequence ?? 0;
  if (cached !== undefined && cached.sequence >= last) return 'current';
  let next: Awaited<ReturnType<typeof stateAfter>>;
  try {
    next = await stateAfter(deps, origins, group, cached);
  } catch (error) {
    if (!unreplayable.some((code) => isAgateError(error, code))) throw error;
    recordError(health, error);
    return 'skipped';
  }
  const written = await writeHotState(redis, health, { ...group, ...next.state });
  if (written === 'failed') return 'failed';
  return written === 'written' ? next.how : 'current';
}

/**
 * `agate.hot-state`: keeps each session's Redis hot state at its newest delivered event, by a fold
 * of the delivered events over the cached entry when the entry's sequence stands right before
 * them, and by a replay (snapshot and tail) otherwise. At-least-once: a batch delivered again
 * finds the entry current and writes nothing. Redis down is counted, not thrown: the entry is
 * then behind or missing, which every reader detects by its sequence and answers by a replay,
 * and the next batch of that session replays too, so nothing stays wrong.
 */
export function hotStateConsumer(
  deps: ReplayDeps,
  redis: Redis,
  health: CacheHealth,
  onUpdate?: (group: SessionEvents, how: HotStateUpdate) => void,
): ConsumerDefinition {
  const origins = sessionOrigins(deps);
  return {
    name: hotStateConsumerName,
    types: null,
    mode: 'at-least-once',
    handle: (events) =>
      forEachSession(groupBySession(events), sessionsAtOnce, async (group) => {
        const how = await updateHotState(deps, redis, health, group, origins);
        onUpdate?.(group, how);
      }),
  };
}
