import { isConnectionFailure } from '../db/index.js';
import { isAgateError } from '../errors/index.js';
import { selectSessionHead } from '../events/index.js';
import type { PlacedAgate, PlacementStore } from './placement-router.js';

/** Where a read was served from (the `x-agate-read-from` header of the API). */
export type ReadFrom = 'primary' | 'replica';

/** The read's session, and the sequence it must see when the caller names one. */
export type ReplicaReadNeed = { tenantId: string; sessionId: string; minSequence?: number };

export type ReplicaReadOptions = {
  /** How long to wait for the replica to reach `minSequence` before reading the primary. */
  waitMs: number;
  /** How often the replica's head is looked at meanwhile. */
  pollMs?: number;
};

/** Default wait for a replica that has not replayed a named sequence yet (AGATE_REPLICA_WAIT_MS). */
export const defaultReplicaWaitMs = 500;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True once the replica's row of the session is at `minSequence` or beyond, within `waitMs`. */
async function replicaReached(
  replica: PlacementStore,
  need: ReplicaReadNeed & { minSequence: number },
  options: ReplicaReadOptions,
): Promise<boolean> {
  const deadline = performance.now() + options.waitMs;
  for (;;) {
    const head = await selectSessionHead(replica.pool, need.tenantId, need.sessionId);
    if (head !== undefined && head.lastSequence >= need.minSequence) return true;
    if (performance.now() >= deadline) return false;
    await pause(options.pollMs ?? 10);
  }
}

/**
 * Runs the read `work` on the placement's replica when it has one (ADR 0033), else on its
 * primary. Read-your-writes by sequence: with `minSequence`, the replica is used only once it has
 * replayed the session to that sequence, waited for at most `waitMs`, after which the primary
 * answers. A replica that cannot be reached, or that does not have the session yet, hands the
 * read to the primary too, so a stopped replica slows reads and never fails them.
 */
export async function readNearest<A extends PlacementStore, T>(
  placed: PlacedAgate<A>,
  need: ReplicaReadNeed,
  options: ReplicaReadOptions,
  work: (agate: A) => Promise<T>,
): Promise<{ value: T; from: ReadFrom }> {
  const { replica } = placed;
  if (replica !== null) {
    try {
      const { minSequence } = need;
      const reached =
        minSequence === undefined ||
        minSequence <= 0 ||
        (await replicaReached(replica, { ...need, minSequence }, options));
      if (reached) return { value: await work(replica), from: 'replica' };
    } catch (error) {
      // A standby also cancels reads that conflict with its recovery (40001, `unavailable`).
      const handOver =
        isConnectionFailure(error) ||
        isAgateError(error, 'unavailable') ||
        isAgateError(error, 'session_not_found');
      if (!handOver) throw error;
    }
  }
  return { value: await work(placed.agate), from: 'primary' };
}

/**
 * WAL bytes `placed`'s primary has written that its replica has not replayed yet: the replica's
 * replay position, compared on the primary. Throws when either does not answer.
 */
export async function replicaLagBytes(placed: PlacedAgate): Promise<number> {
  if (placed.replica === null) return 0;
  const replayed = await placed.replica.pool.query<{ lsn: string | null }>(
    'SELECT pg_last_wal_replay_lsn()::text AS lsn',
  );
  const lsn = replayed.rows[0]?.lsn;
  if (lsn === null || lsn === undefined) throw new Error('the replica is not in recovery');
  const diff = await placed.agate.pool.query<{ bytes: string }>(
    'SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0)::text AS bytes',
    [lsn],
  );
  return Number(diff.rows[0]?.bytes ?? Number.NaN);
}
