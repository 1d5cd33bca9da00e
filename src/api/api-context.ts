import type { Redis } from 'ioredis';
import type { CacheHealth } from '../cache/index.js';
import type { RateLimitSetting } from '../keys/index.js';
import type { PlacementRouter } from '../placements/index.js';
import type { Agate } from '../runtime/index.js';
import type { ApiMetrics } from './metrics.js';
import type { FeedStreamOptions, OpenStreams } from './routes/feed/feed-stream.js';

/** What every route works with: the store and replay, and the hot-state cache when there is one. */
export type ApiContext = {
  /** The control plane's: keys, tenants, placements, and the shared tenants' data. */
  agate: Agate;
  /** Each tenant's Agate by its placement (`tenantAgate`): tenant data goes through this. */
  placements: PlacementRouter<Agate>;
  /** How long a read naming a sequence waits for a replica to reach it (ADR 0033). */
  replicaWaitMs: number;
  /** Null: current state always comes from a replay. */
  redis: Redis | null;
  cacheHealth: CacheHealth;
  /** What the routes record and /metrics exposes. */
  metrics: ApiMetrics;
  /** How the feed's Server-Sent Events poll and keep idle streams alive. */
  feedStream: FeedStreamOptions;
  /** The feed streams open now; closing the server ends them. */
  openStreams: OpenStreams;
  /** The server's rate limit, for keys whose key and tenant set none; null: no limit. */
  rateLimit: RateLimitSetting | null;
};
