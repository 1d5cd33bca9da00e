import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, withTenant } from '../db/index.js';
import type { PoolClient } from '../db/index.js';
import {
  checkRef,
  deleteSnapshot,
  insertSnapshot,
  listSnapshots,
  notFound,
  selectSession,
  selectSnapshotState,
} from '../events/index.js';
import type { Session, StoredSnapshot } from '../events/index.js';
import { rulesOf, stateHash, visitStates } from '../../replay/index.js';
import type { ReplayDeps, VisitedState } from '../../replay/index.js';
import { boundaryAt } from './boundaries.js';
import type { SnapshotReason } from './boundaries.js';

export type RebuildSnapshotsInput = {
  tenantId: string;
  sessionId: string;
  /** Delete and rebuild every snapshot, sound or not (default: only the bad ones). */
  all?: boolean;
  /** Who asked, for the audit entry: an API key's id, or `cli`. */
  actor: string;
};

/**
 * Why a snapshot was deleted: `corrupt` (its state does not hash to its recorded hash),
 * `disagrees` (its hash is not the replayed state's), `other_rules` (another rules version than
 * the session's), `beyond_end` (past the session's last sequence), `asked` (with `all`).
 */
export type SnapshotProblem = 'corrupt' | 'disagrees' | 'other_rules' | 'beyond_end' | 'asked';

export type DeletedSnapshot = { sequence: number; reason: string; problem: SnapshotProblem };
export type RebuiltSnapshot = { sequence: number; reason: SnapshotReason; stateHash: string };

export type RebuildSnapshotsResult = {
  sessionId: string;
  lastSequence: number;
  deleted: DeletedSnapshot[];
  written: RebuiltSnapshot[];
  /** Sound snapshots left as they were. */
  kept: number;
};

type Work = {
  tx: PoolClient;
  session: Session;
  stored: Map<number, StoredSnapshot>;
  all: boolean;
  result: RebuildSnapshotsResult;
};

async function problemOf(
  work: Work,
  snap: StoredSnapshot,
  replayed: string,
): Promise<SnapshotProblem | null> {
  if (work.all) return 'asked';
  if (snap.rulesVersion !== work.session.rulesVersion) return 'other_rules';
  const state = await selectSnapshotState(work.tx, work.session.id, snap.sequence);
  if (stateHash(state) !== snap.stateHash) return 'corrupt';
  return snap.stateHash === replayed ? null : 'disagrees';
}

async function dropSnapshot(work: Work, snap: StoredSnapshot, problem: SnapshotProblem) {
  await deleteSnapshot(work.tx, work.session.id, snap.sequence);
  work.result.deleted.push({ sequence: snap.sequence, reason: snap.reason, problem });
}

/** At a boundary or a stored snapshot: keep a sound one, else write the replayed state there. */
async function settle(work: Work, at: VisitedState, boundary: SnapshotReason | null) {
  const snap = work.stored.get(at.sequence);
  let reason = boundary;
  if (snap !== undefined) {
    const problem = await problemOf(work, snap, at.stateHash);
    if (problem === null) {
      work.result.kept += 1;
      return;
    }
    await dropSnapshot(work, snap, problem);
    reason = snap.reason as SnapshotReason;
  }
  if (reason === null) return;
  const { session } = work;
  const row = {
    tenantId: session.tenantId,
    sessionId: session.id,
    rulesVersion: session.rulesVersion,
  };
  if (await insertSnapshot(work.tx, { ...row, ...at, reason })) {
    work.result.written.push({ sequence: at.sequence, reason, stateHash: at.stateHash });
  }
}

/**
 * Replaces a session's bad snapshots (every one with `all`) with snapshots rebuilt from its log:
 * a snapshot at every 50th sequence and after every day-boundary event, and one again wherever a
 * deleted snapshot stood (same reason). In one transaction as agate_app in the tenant's context,
 * with a `snapshots.rebuilt` audit entry in the same transaction. The log must be sound: a gap, a
 * broken chain, a missing tail, a head or an anchor that disagrees throws `integrity_violation`
 * and changes nothing (restore the events first). Throws `session_not_found`.
 */
export async function rebuildSnapshots(
  deps: ReplayDeps,
  input: RebuildSnapshotsInput,
): Promise<RebuildSnapshotsResult> {
  const { tenantId, sessionId } = checkRef(input);
  return withTenant(deps.pool, { tenantId }, async (tx) => {
    // Listed before the session is read: a snapshot committed meanwhile by the snapshotter is of
    // an event the session row already counts, so "beyond the end" means what it says.
    const listed = await listSnapshots(tx, sessionId, Number.MAX_SAFE_INTEGER);
    const session = await selectSession(tx, sessionId);
    if (session === undefined) throw notFound(sessionId);
    const rules = rulesOf(deps.games, session);
    const stored = new Map(listed.map((s) => [s.sequence, s]));
    const result: RebuildSnapshotsResult = {
      sessionId: session.id,
      lastSequence: session.lastSequence,
      deleted: [],
      written: [],
      kept: 0,
    };
    const work: Work = { tx, session, stored, all: input.all === true, result };
    const boundaryOf = (sequence: number, type: string | null) =>
      type === null ? null : boundaryAt(sequence, type, rules.dayBoundaryTypes);
    await visitStates(tx, rules, session, {
      wants: (sequence, type) => stored.has(sequence) || boundaryOf(sequence, type) !== null,
      visit: (at) => settle(work, at, boundaryOf(at.sequence, at.type)),
    });
    for (const snap of listed) {
      if (snap.sequence > session.lastSequence) await dropSnapshot(work, snap, 'beyond_end');
    }
    result.deleted.sort((a, b) => a.sequence - b.sequence);
    await drizzle(tx)
      .insert(auditLog)
      .values({
        id: uuidv7(),
        tenantId,
        actor: input.actor,
        action: 'snapshots.rebuilt',
        subject: session.id,
        details: {
          all: work.all,
          lastSequence: session.lastSequence,
          deleted: result.deleted,
          written: result.written.map((w) => ({ sequence: w.sequence, reason: w.reason })),
          kept: result.kept,
        },
      });
    return result;
  });
}
