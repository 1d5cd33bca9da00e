// Where a replay starts: the newest sound snapshot, read through the store's query functions.
// Invariants: a snapshot is used only when it is of the session's rules version, above sequence
// 0, at or below the target, its state hashes to its recorded hash and the event at its sequence
// is still stored (the chain resumes from that event's hash); one passed over for a bad hash is
// reported as a divergence. Runs in the caller's transaction (the tenant's).
import type { PoolClient } from '../src/db/index.js';
import { listSnapshots, selectSnapshotState } from '../src/events/index.js';
import type { Session, SnapshotCandidate, StoredSnapshot, TailEvent } from '../src/events/index.js';
import type { Divergence } from './divergence.js';
import { stateHash } from './fold.js';
import type { FoldStart } from './fold.js';
import { chainHashAt } from './read-tail.js';
import { corruptSnapshot } from './replay-checks.js';

export type PickedStart = {
  start?: FoldStart;
  used: StoredSnapshot | null;
  corrupt: Divergence[];
  /** The first page of the events after `start`, when it was read with the snapshot. */
  tail?: TailEvent[];
};

/**
 * The newest snapshot at or below the target, of the session's rules version, whose state hashes
 * to its recorded hash and whose sequence still has its event (the chain resumes from that
 * event's hash; a snapshot past a deleted or dropped event would let a replay reach its target
 * over events that are gone, so it is passed over and the reader names what is missing); the
 * ones passed over for a bad hash are returned as divergences. `newest` is that snapshot as
 * `selectSessionStart` read it: when it holds (the usual case) nothing more is read; when it
 * does not, the older ones are tried one by one.
 */
export async function pickSnapshot(
  tx: PoolClient,
  session: Session,
  target: number,
  newest: SnapshotCandidate | null,
): Promise<PickedStart> {
  if (newest === null) return { used: null, corrupt: [] };
  if (newest.chainHash !== undefined && stateHash(newest.state) === newest.stateHash) {
    const { state, chainHash: previousHash, tail, ...used } = newest;
    return { start: { sequence: newest.sequence, state, previousHash }, used, corrupt: [], tail };
  }
  return pickSnapshotOneByOne(tx, session, target);
}

async function pickSnapshotOneByOne(
  tx: PoolClient,
  session: Session,
  target: number,
): Promise<PickedStart> {
  const corrupt: Divergence[] = [];
  for (const snap of await listSnapshots(tx, session.id, target)) {
    if (snap.rulesVersion !== session.rulesVersion || snap.sequence === 0) continue;
    const state = await selectSnapshotState(tx, session.id, snap.sequence);
    const actual = stateHash(state);
    if (actual !== snap.stateHash) {
      corrupt.push(corruptSnapshot(session, snap, actual));
      continue;
    }
    const previousHash = await chainHashAt(tx, session, snap.sequence);
    if (previousHash === undefined) continue;
    return { start: { sequence: snap.sequence, state, previousHash }, used: snap, corrupt };
  }
  return { used: null, corrupt };
}
