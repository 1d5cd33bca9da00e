// One session's nightly audit, in the caller's transaction in the session's tenant (withTenant).
// Invariants: every stored snapshot after the fold's start is checked twice, its stored state
// hashed against its recorded hash (here) and its recorded hash against the replayed state
// (`checkSnapshotAt`); the chain is checked link by link from the start's chain hash, against the
// nightly anchors on the way and the session's head at the end. The fold starts at the snapshot
// the previous audit verified (`AuditStart`) only while that snapshot still holds the state it
// verified; otherwise, and when a snapshot below it was written since the last audit, it starts
// from genesis. Progress is returned only for a session found clean, so a damaged one is seen
// again every night until it is repaired.
import { isAgateError } from '../../errors/index.js';
import type { PoolClient } from '../../db/index.js';
import type {
  Anchor,
  AuditSession,
  AuditStart,
  AuditSnapshot,
  Session,
  TailEvent,
} from '../../events/index.js';
import type { GameCatalog } from '../../game/index.js';
import {
  checkAnchorAt,
  checkHead,
  checkSnapshotAt,
  corruptSnapshot,
  createFolder,
  foldSessionOf,
  integrityDivergence,
  readTailPages,
  stateHash,
} from '../../../replay/index.js';
import type { Divergence, Folder, FoldStart, ReplayEvent } from '../../../replay/index.js';
import { firstPageSize, loadAuditSession } from './load-audit-sessions.js';

export type AuditProgress = AuditStart & { verifiedSequence: number };

export type SessionAudit = {
  sessionId: string;
  tenantId: string;
  divergences: Divergence[];
  snapshotsChecked: number;
  fromGenesis: boolean;
  /** Its rules are not registered in this build: only its snapshots' content was checked. */
  unknownRules: boolean;
  /** Where the next audit may start; null when something diverged. */
  progress: AuditProgress | null;
};

type Fold = {
  tx: PoolClient;
  session: Session;
  folder: Folder;
  checks: AuditSnapshot[];
  anchors: Anchor[];
  intact: Set<number>;
  out: Divergence[];
};

/** Folds the tail with the checks; returns the newest snapshot point found good on the way. */
async function foldChecked(run: Fold, first: TailEvent[]): Promise<AuditStart | null> {
  const { tx, session, folder, checks, anchors, out } = run;
  const at = new Set([...checks, ...anchors].map((c) => c.sequence));
  let good: AuditStart | null = null;
  let current: ReplayEvent | undefined;
  try {
    // The page loaded with the session goes through the tail reader too, so a hole in it is
    // the same loud `missing` as anywhere else.
    const pages = readTailPages(
      tx,
      session,
      folder.sequence,
      session.lastSequence,
      first,
      firstPageSize,
    );
    for await (const page of pages) {
      for (const event of page) {
        current = event;
        folder.apply(event);
        if (!at.has(folder.sequence)) continue;
        const before = out.length;
        // Content was checked up front (a corrupt one is already a finding): only the intact
        // ones are compared with the replayed state here, from the states already loaded.
        const intactChecks = checks.filter((snap) => run.intact.has(snap.sequence));
        await checkSnapshotAt(tx, session, intactChecks, folder, event, out);
        checkAnchorAt(anchors, folder, event, out);
        if (out.length === before && run.intact.has(folder.sequence) && folder.chainHead !== null)
          good = {
            snapshotSequence: folder.sequence,
            chainHash: folder.chainHead,
            stateHash: stateHash(folder.state),
          };
      }
    }
  } catch (error) {
    if (!isAgateError(error, 'integrity_violation')) throw error;
    out.push(integrityDivergence(error, current));
  }
  return good;
}

/** The fold's start: the verified snapshot while it still holds the verified state, else genesis. */
function startOf(start: AuditStart | null, snapshots: AuditSnapshot[]): FoldStart | undefined {
  if (start === null || start.snapshotSequence === 0) return undefined;
  const snap = snapshots.find((s) => s.sequence === start.snapshotSequence);
  if (snap === undefined || stateHash(snap.state) !== start.stateHash) return undefined;
  return { sequence: snap.sequence, state: snap.state, previousHash: start.chainHash };
}

/**
 * Audits one session, loaded (`loadAuditSessions`) from `start` on (null: from genesis), to its
 * last event; `since` is the last completed audit's mark. When the verified snapshot cannot be
 * the start, the session is loaded again from genesis.
 */
export async function auditSession(
  tx: PoolClient,
  games: GameCatalog,
  first: AuditSession,
  start: AuditStart | null,
): Promise<SessionAudit> {
  const foldStart = first.rewrittenBelow ? undefined : startOf(start, first.snapshots);
  const loaded =
    foldStart === undefined && (start?.snapshotSequence ?? 0) > 0
      ? ((await loadAuditSession(tx, first.session.id)) ?? first)
      : first;
  const { session, snapshots } = loaded;
  const sessionId = session.id;
  const rules = games.find(session.rules, session.rulesVersion);
  const from = foldStart?.sequence ?? 0;
  const checks = snapshots.filter((s) => s.sequence > from);
  const out: Divergence[] = [];
  const intact = new Set<number>();
  for (const snap of checks) {
    const actual = stateHash(snap.state);
    if (actual === snap.stateHash) intact.add(snap.sequence);
    else out.push(corruptSnapshot(session, snap, actual));
  }
  const base = {
    sessionId,
    tenantId: session.tenantId,
    snapshotsChecked: checks.length,
    fromGenesis: from === 0,
    unknownRules: rules === undefined,
  };
  if (rules === undefined) return { ...base, divergences: out, progress: null };
  const folder = createFolder(rules, foldSessionOf(session), foldStart);
  const initial: AuditStart | null =
    foldStart === undefined && folder.chainHead !== null
      ? { snapshotSequence: 0, chainHash: folder.chainHead, stateHash: stateHash(folder.state) }
      : (start ?? null);
  const { anchors, tail } = loaded;
  const good = await foldChecked({ tx, session, folder, checks, anchors, intact, out }, tail);
  if (out.length === 0) checkHead(session, folder, out);
  const point = good ?? initial;
  const progress =
    out.length === 0 && point !== null
      ? { ...point, verifiedSequence: session.lastSequence }
      : null;
  return { ...base, divergences: out, progress };
}
