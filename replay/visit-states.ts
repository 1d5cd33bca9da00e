import type { PoolClient } from '../src/db/index.js';
import { listAnchors } from '../src/events/index.js';
import type { Anchor, Session } from '../src/events/index.js';
import type { GameRules } from '../src/game/index.js';
import { createFolder, integrityError, stateHash } from './fold.js';
import type { Folder } from './fold.js';
import { foldSessionOf } from './replay-session.js';
import { readTailPages } from './read-tail.js';

/** A state the fold passed through: after the event at `sequence` (`type` null at genesis). */
export type VisitedState = {
  sequence: number;
  type: string | null;
  state: unknown;
  stateHash: string;
};

export type StateVisitor = {
  /** Whether `visit` wants the state after this event (cheap: called for every event). */
  wants(sequence: number, type: string | null): boolean;
  visit(state: VisitedState): Promise<void>;
};

function checkAnchors(anchors: readonly Anchor[], folder: Folder): void {
  const head = folder.chainHead?.toString('hex');
  for (const anchor of anchors) {
    if (anchor.sequence !== folder.sequence || head === anchor.headHash) continue;
    throw integrityError(
      'anchor',
      anchor.sequence,
      `The hash chain at ${anchor.sequence} differs from the head recorded by the nightly job: events up to here were rewritten after that night.`,
    );
  }
}

function checkEnd(session: Session, folder: Folder, anchors: readonly Anchor[]): void {
  const last = session.lastSequence;
  if (folder.sequence < last) {
    throw integrityError(
      'missing',
      folder.sequence + 1,
      `The session's events stop at ${folder.sequence} but it has ${last}: events ${folder.sequence + 1} to ${last} are missing from the store.`,
    );
  }
  if (folder.chainHead?.toString('hex') !== session.headHash) {
    throw integrityError(
      'head',
      last,
      `The session's head hash does not match the end of its chain at ${last}: the session row or the last event was changed.`,
    );
  }
  const beyond = anchors.find((a) => a.sequence > last);
  if (beyond !== undefined) {
    throw integrityError(
      'anchor',
      beyond.sequence,
      `The nightly job anchored this session at ${beyond.sequence}, beyond its last sequence ${last}: events were removed after that night.`,
    );
  }
}

/**
 * Folds the whole session from genesis in the caller's transaction (tenant set), streaming its
 * events, and hands `visitor` the state after each event it wants (and the initial state, at
 * sequence 0). Only a sound log is visited to its end: a gap, a duplicate, a broken chain link, a
 * missing tail, a head or an anchor that disagrees throws `integrity_violation` with its sequence,
 * so nothing derived is rebuilt from a damaged log. `rules` are the session's (`rulesOf`).
 */
export async function visitStates(
  tx: PoolClient,
  rules: GameRules,
  session: Session,
  visitor: StateVisitor,
): Promise<void> {
  const folder = createFolder(rules, foldSessionOf(session));
  const anchors = await listAnchors(tx, session.id);
  const visit = (type: string | null) =>
    visitor.visit({
      sequence: folder.sequence,
      type,
      state: folder.state,
      stateHash: stateHash(folder.state),
    });
  if (visitor.wants(0, null)) await visit(null);
  for await (const page of readTailPages(tx, session, 0, session.lastSequence)) {
    for (const event of page) {
      folder.apply(event);
      checkAnchors(anchors, folder);
      if (visitor.wants(event.sequence, event.type)) await visit(event.type);
    }
  }
  checkEnd(session, folder, anchors);
}
