import type { AgateError } from '../src/errors/index.js';
import type { PoolClient } from '../src/db/index.js';
import { selectSnapshotState } from '../src/events/index.js';
import type { Anchor, Session, StoredSnapshot } from '../src/events/index.js';
import { diffPaths } from './diff.js';
import type { Divergence, DivergenceKind } from './divergence.js';
import { stateHash } from './fold.js';
import type { Folder, ReplayEvent } from './fold.js';

/** What an analyst runs to replace a session's bad snapshots with ones rebuilt from its log. */
export function rebuildCommand(sessionId: string, tenantId: string): string {
  return `agate snapshot rebuild ${sessionId} --tenant ${tenantId}`;
}

/** A stored snapshot whose state does not hash to its recorded hash: never used, to be rebuilt. */
export function corruptSnapshot(
  session: Session,
  snap: StoredSnapshot,
  actual: string,
): Divergence {
  return {
    kind: 'snapshot_corrupt',
    sequence: snap.sequence,
    event: null,
    message: `The snapshot at ${snap.sequence} does not hash to its recorded hash; it was not used. Run ${rebuildCommand(session.id, session.tenantId)} to replace it with one rebuilt from the log.`,
    expectedHash: snap.stateHash,
    actualHash: actual,
  };
}

/**
 * With verify: does every stored snapshot at the folder's sequence agree with itself and with the
 * replayed state? Its stored state must hash to its recorded hash (else `snapshot_corrupt`, which
 * a plain replay would pass over) and that hash must be the replayed state's (else `snapshot`, a
 * rewrite with a matching hash). `event` is the one just applied (none at sequence 0). A check
 * that carries its `state` (already read) is not read again.
 */
export async function checkSnapshotAt(
  tx: PoolClient,
  session: Session,
  checks: readonly (StoredSnapshot & { state?: unknown })[],
  folder: Folder,
  event: ReplayEvent | undefined,
  out: Divergence[],
): Promise<void> {
  for (const snap of checks) {
    if (snap.sequence !== folder.sequence) continue;
    const stored =
      'state' in snap ? snap.state : await selectSnapshotState(tx, session.id, snap.sequence);
    const content = stateHash(stored);
    const actual = stateHash(folder.state);
    if (content === snap.stateHash && actual === snap.stateHash) continue;
    const at = event ? { eventId: event.eventId, type: event.type } : null;
    const paths = diffPaths(stored, folder.state);
    if (content !== snap.stateHash) {
      out.push({ ...corruptSnapshot(session, snap, content), event: at, paths });
      continue;
    }
    out.push({
      kind: 'snapshot',
      sequence: snap.sequence,
      event: at,
      message: `The ${snap.reason} snapshot at ${snap.sequence} disagrees with the replayed state (rules v${snap.rulesVersion}). Run ${rebuildCommand(session.id, session.tenantId)} to replace it with one rebuilt from the log.`,
      expectedHash: snap.stateHash,
      actualHash: actual,
      paths,
    });
  }
}

/**
 * With verify, once the fold has reached the session's last sequence: a snapshot or an anchor
 * beyond it means events (and the session row's count) were removed after they were recorded.
 */
export function checkBeyondEnd(
  session: Session,
  snapshots: readonly StoredSnapshot[],
  anchors: readonly Anchor[],
  out: Divergence[],
): void {
  const last = session.lastSequence;
  for (const snap of snapshots) {
    if (snap.sequence <= last) continue;
    out.push({
      kind: 'snapshot',
      sequence: snap.sequence,
      event: null,
      message: `The ${snap.reason} snapshot at ${snap.sequence} is beyond the session's last sequence ${last}: events were removed after it was written, or it belongs to no event.`,
      expectedHash: snap.stateHash,
    });
  }
  for (const anchor of anchors) {
    if (anchor.sequence <= last) continue;
    out.push({
      kind: 'anchor',
      sequence: anchor.sequence,
      event: null,
      message: `The nightly job anchored this session at ${anchor.sequence}, beyond its last sequence ${last}: events were removed after that night.`,
      expectedHash: anchor.headHash,
    });
  }
}

/** With verify, at the session's end: is the stored head the end of the chain? */
export function checkHead(session: Session, folder: Folder, out: Divergence[]): void {
  const target = folder.sequence;
  if (target !== session.lastSequence || folder.chainHead === null) return;
  if (folder.chainHead.toString('hex') === session.headHash) return;
  out.push({
    kind: 'head',
    sequence: target,
    event: null,
    message: `The session's head hash does not match the end of its chain at ${target}: the session row or the last event was changed.`,
    expectedHash: session.headHash,
    actualHash: folder.chainHead.toString('hex'),
  });
}

/** An integrity failure as a divergence; `event` is the last one folded before it (if any). */
export function integrityDivergence(error: AgateError, event: ReplayEvent | undefined): Divergence {
  const details = error.details as {
    kind: DivergenceKind;
    sequence: number;
    lastMissing?: number;
    goneMonths?: string[];
  };
  const divergence: Divergence = {
    kind: details.kind,
    sequence: details.sequence,
    event:
      event && details.kind !== 'missing' ? { eventId: event.eventId, type: event.type } : null,
    message: error.message,
  };
  if (details.lastMissing !== undefined) divergence.lastMissing = details.lastMissing;
  if (details.goneMonths !== undefined) divergence.goneMonths = details.goneMonths;
  return divergence;
}

/** With verify: does the chain at this sequence end in the head the nightly job anchored? */
export function checkAnchorAt(
  anchors: readonly Anchor[],
  folder: Folder,
  event: ReplayEvent,
  out: Divergence[],
): void {
  for (const anchor of anchors) {
    if (anchor.sequence !== folder.sequence || folder.chainHead === null) continue;
    const actual = folder.chainHead.toString('hex');
    if (actual === anchor.headHash) continue;
    out.push({
      kind: 'anchor',
      sequence: anchor.sequence,
      event: { eventId: event.eventId, type: event.type },
      message: `The hash chain at ${anchor.sequence} differs from the head recorded by the nightly job: events up to here were rewritten after that night.`,
      expectedHash: anchor.headHash,
      actualHash: actual,
    });
  }
}
