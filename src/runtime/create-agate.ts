import type { Pool } from '../db/index.js';
import { createEventStore } from '../events/index.js';
import type { AfterAppend, AppendedBatch, EventStore, Limits } from '../events/index.js';
import type { GameCatalog } from '../game/index.js';
import { inlineSnapshotter, snapshotSession } from '../snapshots/index.js';
import type { WrittenSnapshot } from '../snapshots/index.js';
import { replaySession } from '../../replay/index.js';
import type { ReplayDeps, ReplayOptions, ReplayResult } from '../../replay/index.js';

/** Work to run after each committed append, built once the store exists (hooks replay through it). */
export type AgateHook = (agate: Agate) => AfterAppend;

export type AgateOptions = {
  pool: Pool;
  games: GameCatalog;
  limits?: Partial<Limits>;
  /**
   * Snapshots after each append: in process (true, the default), none (false), or handed to
   * another sink (the snapshot queue) that falls back to writing in process when it cannot.
   */
  snapshots?: boolean | AgateHook;
  /** More work after each committed append, after the snapshots (the Redis hot state). */
  afterAppend?: readonly AgateHook[];
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
  const snapshots: AgateHook | undefined =
    options.snapshots === false
      ? undefined
      : typeof options.snapshots === 'function'
        ? options.snapshots
        : (agate) =>
            inlineSnapshotter({ pool: agate.pool, store: agate.store, games: agate.games });
  const factories = [
    ...(snapshots === undefined ? [] : [snapshots]),
    ...(options.afterAppend ?? []),
  ];
  // Hooks replay through the store they are hooks of, so they are built once `agate` exists.
  let hooks: AfterAppend[] = [];
  const runHooks = async (batch: AppendedBatch) => {
    for (const hook of hooks) {
      try {
        await hook(batch);
      } catch (error) {
        options.onAfterAppendError?.(error, batch);
      }
    }
  };
  const store: EventStore = createEventStore({
    pool: options.pool,
    catalog: options.games.eventTypes,
    limits: options.limits,
    afterAppend: factories.length === 0 ? undefined : runHooks,
    onAfterAppendError: options.onAfterAppendError,
  });
  const deps: ReplayDeps = { pool: options.pool, store, games: options.games };
  const agate: Agate = {
    pool: options.pool,
    games: options.games,
    store,
    replay: (replayOptions) => replaySession(deps, replayOptions),
    snapshot: (ref) => snapshotSession(deps, ref),
  };
  hooks = factories.map((factory) => factory(agate));
  return agate;
}
