import type { Pool } from '../db/index.js';
import { createEventStore } from '../events/index.js';
import type { AfterAppend, AppendedBatch, EventStore, Limits } from '../events/index.js';
import { feedWakeHook } from '../feed/index.js';
import type { FeedWake } from '../feed/index.js';
import type { GameCatalog } from '../game/index.js';
import { inlineSnapshotter, snapshotSession } from '../snapshots/index.js';
import type { WrittenSnapshot } from '../snapshots/index.js';
import { replaySession } from '../../replay/index.js';
import type { ReplayDeps, ReplayOptions, ReplayResult } from '../../replay/index.js';

export type AgateOptions = {
  pool: Pool;
  games: GameCatalog;
  limits?: Partial<Limits>;
  /**
   * Snapshots after each append: in process (true, the default), none (false), or this hook (the
   * snapshot queue's, built from the same pool and games) that falls back to writing in process.
   */
  snapshots?: boolean | AfterAppend;
  /** More work after each committed append, after the snapshots (the Redis hot state). */
  afterAppend?: readonly AfterAppend[];
  /**
   * Wakes the feed's consumers after every committed append (`createFeedWake`): in this process
   * at once, in others through `pg_notify` outside the append's transaction. Without it,
   * consumers find new events by polling.
   */
  feedWake?: FeedWake;
  /** Called once for each hook that throws; the append has committed and the next hook still runs. */
  onAfterAppendError?: (error: unknown, batch: AppendedBatch) => void;
};

/** The event store, replay and snapshots wired together over one pool. */
export type Agate = {
  pool: Pool;
  games: GameCatalog;
  store: EventStore;
  replay(options: ReplayOptions): Promise<ReplayResult>;
  snapshot(ref: { tenantId: string; sessionId: string }): Promise<WrittenSnapshot>;
};

function snapshotHooks(deps: ReplayDeps, snapshots: AgateOptions['snapshots']): AfterAppend[] {
  if (snapshots === false) return [];
  if (typeof snapshots === 'function') return [snapshots];
  return [inlineSnapshotter(deps)];
}

export function createAgate(options: AgateOptions): Agate {
  // Replay needs only the pool and the games, so every hook is built before the store exists.
  const deps: ReplayDeps = { pool: options.pool, games: options.games };
  const store = createEventStore({
    pool: options.pool,
    catalog: options.games.eventTypes,
    limits: options.limits,
    afterAppend: [
      ...(options.feedWake === undefined ? [] : [feedWakeHook(options.feedWake)]),
      ...snapshotHooks(deps, options.snapshots),
      ...(options.afterAppend ?? []),
    ],
    onAfterAppendError: options.onAfterAppendError,
  });
  return {
    pool: options.pool,
    games: options.games,
    store,
    replay: (replayOptions) => replaySession(deps, replayOptions),
    snapshot: (ref) => snapshotSession(deps, ref),
  };
}
