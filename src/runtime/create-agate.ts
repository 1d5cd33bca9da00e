import type { Pool } from '../db/index.js';
import { createEventStore } from '../events/index.js';
import type { AfterAppend, AppendedBatch, EventStore, Limits } from '../events/index.js';
import { createFeedWake, feedWakeHook } from '../feed/index.js';
import type { FeedWake } from '../feed/index.js';
import type { GameCatalog } from '../game/index.js';
import { snapshotSession } from '../snapshots/index.js';
import type { WrittenSnapshot } from '../snapshots/index.js';
import { replaySession } from '../../replay/index.js';
import type { ReplayDeps, ReplayOptions, ReplayResult } from '../../replay/index.js';
import { createBatchJudge } from '../verdicts/index.js';
import type { AgateRedis } from './agate-consumers.js';
import { startAgateConsumers } from './start-agate-consumers.js';
import type { AgateConsumersOptions, RunningAgateConsumers } from './start-agate-consumers.js';

export type AgateOptions = {
  pool: Pool;
  games: GameCatalog;
  limits?: Partial<Limits>;
  /**
   * agate's own consumers of the feed (snapshots; with `redis`, the hot state and leaderboards):
   * in this process, beside requests (true, the default), or not here (false: a worker or a
   * server runs them, or nothing does).
   */
  consumers?: boolean | AgateConsumersOptions;
  /** More after-commit wake-ups, after the feed's (derived work belongs in a consumer, not here). */
  afterAppend?: readonly AfterAppend[];
  /**
   * Wakes the feed's consumers after every committed append: in this process at once, in others
   * through `pg_notify` outside the append's transaction. Default: one of its own
   * (`createFeedWake`, listening when the consumers run here), closed with `close()`; one given
   * here stays open.
   */
  feedWake?: FeedWake;
  /** Called once for each hook that throws; the append has committed and the next hook still runs. */
  onAfterAppendError?: (error: unknown, batch: AppendedBatch) => void;
  /**
   * Where appends with `verdicts` find the state before their batch (ADR 0030): this process's
   * recent states (`recentStates` sessions, default 10,000, least recently used out), then the
   * Redis hot state when `redis` is given, else the newest snapshot and the tail.
   */
  verdicts?: { redis?: AgateRedis | null; recentStates?: number };
};

/** The event store, replay, snapshots and agate's own consumers wired together over one pool. */
export type Agate = {
  pool: Pool;
  games: GameCatalog;
  store: EventStore;
  /** Announces each committed append to the feed's consumers (here and, by NOTIFY, elsewhere). */
  wake: FeedWake;
  /** agate's own consumers when they run in this process. */
  consumers: RunningAgateConsumers | null;
  replay(options: ReplayOptions): Promise<ReplayResult>;
  snapshot(ref: { tenantId: string; sessionId: string }): Promise<WrittenSnapshot>;
  /**
   * Resolves when the derived data (snapshots, hot state, leaderboards) reflects every event
   * committed before the call; at once when the consumers do not run in this process.
   */
  idle(): Promise<void>;
  /** Stops the consumers and the wake-ups; the pool stays open (its owner ends it). */
  close(): Promise<void>;
};

export function createAgate(options: AgateOptions): Agate {
  const deps: ReplayDeps = { pool: options.pool, games: options.games };
  const inProcess = options.consumers !== false;
  const wake = options.feedWake ?? createFeedWake({ pool: options.pool, listen: inProcess });
  let consumers: RunningAgateConsumers | null = null;
  const noticeTenant: AfterAppend = (batch) => {
    consumers?.notice(batch.tenantId);
    return Promise.resolve();
  };
  const store = createEventStore({
    pool: options.pool,
    catalog: options.games.eventTypes,
    limits: options.limits,
    afterAppend: [feedWakeHook(wake), noticeTenant, ...(options.afterAppend ?? [])],
    onAfterAppendError: options.onAfterAppendError,
    judge: createBatchJudge({
      pool: options.pool,
      games: options.games,
      redis: options.verdicts?.redis ?? null,
      recentStates: options.verdicts?.recentStates,
    }),
  });
  if (inProcess) {
    const settings =
      options.consumers === true || options.consumers === undefined ? {} : options.consumers;
    consumers = startAgateConsumers(deps, { wake, ...settings });
  }
  return {
    pool: options.pool,
    games: options.games,
    store,
    wake,
    consumers,
    replay: (replayOptions) => replaySession(deps, replayOptions),
    snapshot: (ref) => snapshotSession(deps, ref),
    idle: () => consumers?.idle() ?? Promise.resolve(),
    async close() {
      await consumers?.stop();
      if (options.feedWake === undefined) await wake.close();
    },
  };
}
