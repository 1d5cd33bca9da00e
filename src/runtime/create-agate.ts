import type { Pool } from '../db/index.js';
import { createEventStore } from '../events/index.js';
import type { AppendedBatch, EventStore, Limits } from '../events/index.js';
import type { GameCatalog } from '../game/index.js';
import { inlineSnapshotter, snapshotSession } from '../snapshots/index.js';
import type { WrittenSnapshot } from '../snapshots/index.js';
import { replaySession } from '../../replay/index.js';
import type { ReplayDeps, ReplayOptions, ReplayResult } from '../../replay/index.js';

export type AgateOptions = {
  pool: Pool;
  games: GameCatalog;
  limits?: Partial<Limits>;
  /** Snapshots after each append, in process (default true). */
  snapshots?: boolean;
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

export function createAgate(options: AgateOptions): Agate {
  // The snapshotter replays through the store it is a hook of: `deps` is read when an append runs.
  const afterAppend = (batch: AppendedBatch) => inlineSnapshotter(deps)(batch);
  const store: EventStore = createEventStore({
    pool: options.pool,
    catalog: options.games.eventTypes,
    limits: options.limits,
    afterAppend: options.snapshots === false ? undefined : afterAppend,
    onAfterAppendError: options.onAfterAppendError,
  });
  const deps: ReplayDeps = { pool: options.pool, store, games: options.games };
  return {
    pool: options.pool,
    games: options.games,
    store,
    replay: (replayOptions) => replaySession(deps, replayOptions),
    snapshot: (ref) => snapshotSession(deps, ref),
  };
}
