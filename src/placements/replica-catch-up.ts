import { isConnectionFailure } from '../db/index.js';
import { isAgateError } from '../errors/index.js';
import type { PlacedAgate, PlacementStore } from './placement-router.js';
import type { ReadFrom, ReplicaReadOptions } from './replica-read.js';

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * True when `error` is the replica failing a read, not the read itself: the connection lost or
 * refused, or a query the standby cancelled in a conflict with its recovery (40001, `unavailable`).
 * The same read on the primary may then succeed.
 */
export function isReplicaFailure(error: unknown): boolean {
  return isConnectionFailure(error) || isAgateError(error, 'unavailable');
}

async function primaryLsn(placed: PlacedAgate): Promise<string> {
  const { rows } = await placed.agate.pool.query<{ lsn: string }>(
    'SELECT pg_current_wal_lsn()::text AS lsn',
  );
  const lsn = rows[0]?.lsn;
  if (lsn === undefined) throw new Error('pg_current_wal_lsn() returned no row');
  return lsn;
}

/** 'reached' once the replica replayed `lsn`; 'promoted' if it is no longer in recovery. */
async function replayedTo(replica: PlacementStore, lsn: string) {
  const { rows } = await replica.pool.query<{ recovering: boolean; reached: boolean | null }>(
    'SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn() >= $1::pg_lsn AS reached',
    [lsn],
  );
  const row = rows[0];
  if (row?.recovering !== true) return 'promoted';
  return row.reached === true ? 'reached' : 'behind';
}

/**
 * The placement's replica once it has replayed everything its primary had committed when this
 * was called (the primary's `pg_current_wal_lsn()`, against the replica's
 * `pg_last_wal_replay_lsn()`, polled every `pollMs` for at most `waitMs`), so a read there sees
 * at least what a read of the primary would have seen now. `null`, meaning read the primary:
 * no replica configured, not caught up in time, unreachable, or not in recovery (a promoted
 * replica may have diverged from the primary). Throws only when the primary does not answer.
 */
export async function caughtUpReplica<A extends PlacementStore>(
  placed: PlacedAgate<A>,
  options: ReplicaReadOptions,
): Promise<A | null> {
  const { replica } = placed;
  if (replica === null) return null;
  const lsn = await primaryLsn(placed);
  const deadline = performance.now() + options.waitMs;
  try {
    for (;;) {
      const state = await replayedTo(replica, lsn);
      if (state === 'reached') return replica;
      if (state === 'promoted' || performance.now() >= deadline) return null;
      await pause(options.pollMs ?? 10);
    }
  } catch {
    // Whatever the replica answers instead of its position, the primary can still serve.
    return null;
  }
}

/**
 * Runs the whole read `work` on the caught-up replica (`caughtUpReplica`), else on the primary;
 * a replica failing during `work` hands it to the primary from the start. For reads whose result
 * is built before anything leaves (`work` must have no effects beyond reading).
 */
export async function readCaughtUp<A extends PlacementStore, T>(
  placed: PlacedAgate<A>,
  options: ReplicaReadOptions,
  work: (agate: A) => Promise<T>,
): Promise<{ value: T; from: ReadFrom }> {
  const replica = await caughtUpReplica(placed, options);
  if (replica !== null) {
    try {
      return { value: await work(replica), from: 'replica' };
    } catch (error) {
      if (!isReplicaFailure(error)) throw error;
    }
  }
  return { value: await work(placed.agate), from: 'primary' };
}
