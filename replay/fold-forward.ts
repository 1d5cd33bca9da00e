// A session's state at a sequence for a caller that may already hold an older one (the verdicts
// of an append): the tail after a known state, or replay's own start (the newest usable snapshot,
// else genesis) and the tail. Both run in the caller's transaction (the tenant's), check every
// sequence from the start to the target and, where the start's chain hash is known, every link.
import { AgateError } from '../src/errors/index.js';
import type { PoolClient } from '../src/db/index.js';
import { notFound, selectSessionStart } from '../src/events/index.js';
import type { Session, TailEvent } from '../src/events/index.js';
import type { GameCatalog, GameRules } from '../src/game/index.js';
import { createFolder } from './fold.js';
import type { Folder, FoldStart } from './fold.js';
import { pickSnapshot } from './pick-snapshot.js';
import { readTailPages, tailPageSize } from './read-tail.js';
import { foldSessionOf, rulesOf } from './replay-session.js';

export type FoldedAt = { session: Session; rules: GameRules; folder: Folder };

async function foldTail(
  tx: PoolClient,
  session: Session,
  folder: Folder,
  to: number,
  first?: TailEvent[],
): Promise<void> {
  for await (const page of readTailPages(tx, session, folder.sequence, to, first)) {
    for (const event of page) folder.apply(event);
  }
}

function checkTarget(session: Session, from: number, to: number): void {
  if (!Number.isSafeInteger(to) || to < from || to > session.lastSequence) {
    throw new AgateError(
      'internal',
      `Cannot fold session ${session.id} from ${from} to ${to}: its last sequence is ${session.lastSequence}.`,
    );
  }
}

/**
 * `start` (a state the caller trusts at its sequence, for the session's rules) brought forward
 * to `to` by folding the stored events after it. With `start.previousHash` the first stored
 * event must extend it, so a start whose chain head no longer matches the log throws
 * `integrity_violation` instead of being trusted.
 */
export async function foldForward(
  tx: PoolClient,
  rules: GameRules,
  session: Session,
  start: FoldStart,
  to: number,
): Promise<Folder> {
  checkTarget(session, start.sequence, to);
  const folder = createFolder(rules, foldSessionOf(session), start);
  await foldTail(tx, session, folder, to);
  return folder;
}

/**
 * The session's state at `to` (default: its last sequence) the way a replay starts: the newest
 * usable snapshot at or below it (else the initial state) and the tail, read with the session
 * row in one round trip when the tail fits a page. Throws `session_not_found`.
 */
export async function foldFromSnapshot(
  tx: PoolClient,
  games: GameCatalog,
  sessionId: string,
  to?: number,
): Promise<FoldedAt> {
  const loaded = await selectSessionStart(tx, sessionId, to, tailPageSize);
  if (loaded === undefined) throw notFound(sessionId);
  const { session, newest } = loaded;
  const target = to ?? session.lastSequence;
  checkTarget(session, 0, target);
  const rules = rulesOf(games, session);
  const picked = await pickSnapshot(tx, session, target, newest);
  const folder = createFolder(rules, foldSessionOf(session), picked.start);
  await foldTail(tx, session, folder, target, picked.tail);
  return { session, rules, folder };
}
