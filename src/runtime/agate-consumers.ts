import type { Redis } from 'ioredis';
import { analyticsConsumer } from '../analytics/index.js';
import { hotStateConsumer, leaderboardsConsumer } from '../cache/index.js';
import type { CacheHealth } from '../cache/index.js';
import { sessionOrigins } from '../events/index.js';
import type { ConsumerDefinition } from '../feed/index.js';
import { snapshotFeedEvents, snapshotMemory } from '../snapshots/index.js';
import type { ReplayDeps } from '../../replay/index.js';

export const snapshotsConsumerName = 'agate.snapshots';

/** The Redis that agate's own cache consumers write to. */
export type AgateRedis = { client: Redis; health: CacheHealth };

/**
 * `agate.snapshots`: the snapshots the delivered events call for (ADR 0025). It needs every
 * event type (any event may land on the 50-event interval); at-least-once, since writing a
 * snapshot again is a no-op. It writes them itself rather than through the snapshot queue: it
 * already runs beside requests, not on the append path, and a job that Redis lost after the
 * checkpoint moved on would be a snapshot lost until the nightly.
 */
export function snapshotsConsumer(deps: ReplayDeps): ConsumerDefinition {
  const origins = sessionOrigins(deps);
  const memory = snapshotMemory();
  return {
    name: snapshotsConsumerName,
    types: null,
    mode: 'at-least-once',
    handle: async (events) => {
      await snapshotFeedEvents(deps, events, origins, memory);
    },
  };
}

/**
 * agate's own consumers of every tenant's feed, in one list (their names are a contract):
 * snapshots and analytics.events always; with Redis, the hot state and the verified leaderboards.
 */
export function agateConsumers(deps: ReplayDeps, redis: AgateRedis | null): ConsumerDefinition[] {
  const own = [snapshotsConsumer(deps), analyticsConsumer(deps.games)];
  if (redis === null) return own;
  return [
    ...own,
    hotStateConsumer(deps, redis.client, redis.health),
    leaderboardsConsumer(deps, redis.client, redis.health),
  ];
}
