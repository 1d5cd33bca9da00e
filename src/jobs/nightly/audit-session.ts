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
import { sessionColumns, toSession } from '../../events/index.js';
import type { Session, SessionRow } from '../../events/index.js';
import type { GameCatalog } from '../../game/index.js';
import {
  checkAnchorAt,
  checkHead,
  checkSnapshotAt,
  createFolder,
  integrityDivergence,
  listAnchors,
  readTailPages,
  stateHash,
} from '../../../replay/index.js';
import type {
  Divergence,
  Folder,
  FoldSession,
  FoldStart,
  ReplayEvent,
  StoredSnapshot,
} from '../../../replay/index.js';

/** Where the previous audit left a session: the snapshot it verified (0: genesis) and the chain there. */
export type AuditStart = { snapshotSequence: number; chainHash: Buffer; stateHash: string };

export type AuditProgress = AuditStart & { verifiedSequence: number };

export type SessionAudit = {
  sessionId: string;
  tenantId: string;
  divergences: Divergence[];
  snapshotsChecked: number;
  fromGenesis: boolean;
  /** Where the next audit may start; null when something diverged. */
  progress: AuditProgress | null;
};

type SnapshotRow = StoredSnapshot & { state: unknown };

type LoadRow = SessionRow & {
  snaps: [number, number, string, string, string, unknown][] | null;
  rewritten_below: boolean;
};

/**
 * The session, its snapshots from `from` on with their states, and whether a snapshot below
 * `from` was written at or after `since` (then the fold must start from genesis to check it).
 */
const loadQuery = `
  SELECT ${sessionColumns},
         (SELECT json_agg(json_build_array(n.sequence, n.rules_version, encode(n.state_hash, 'hex'),
                                           n.reason, n.created_at, n.state) ORDER BY n.sequence)
            FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence >= $2) AS snaps,
         EXISTS (SELECT 1 FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence < $2
                    AND $3::timestamptz IS NOT NULL AND n.created_at >= $3) AS rewritten_below
    FROM game.sessions s WHERE s.id = $1`;

async function load(
  tx: PoolClient,
  sessionId: string,
  from: number,
  since: Date | null,
): Promise<{ session: Session; snapshots: SnapshotRow[]; rewrittenBelow: boolean } | undefined> {
  const r = await tx.query<LoadRow>(loadQuery, [sessionId, from, since]);
  const row = r.rows[0];
  if (row === undefined) return undefined;
  const { snaps, rewritten_below: rewrittenBelow, ...sessionRow } = row;
  const snapshots = (snaps ?? []).map(
    ([sequence, rulesVersion, hash, reason, createdAt, state]) => ({
      sequence,
      rulesVersion,
      stateHash: hash,
      reason,
      createdAt: new Date(createdAt),
      state,
    }),
  );
  return { session: toSession(sessionRow), snapshots, rewrittenBelow };
}

function foldSessionOf(session: Session): FoldSession {
  return {
    sessionId: session.id,
    tenantId: session.tenantId,
    seed: session.seed,
    rules: session.rules,
    rulesVersion: session.rulesVersion,
    config: session.config,
  };
}

function corruptContent(snap: SnapshotRow, actual: string): Divergence {
  return {
    kind: 'snapshot_corrupt',
    sequence: snap.sequence,
    event: null,
    message: `The ${snap.reason} snapshot at ${snap.sequence} does not hash to its recorded hash: its state or its hash was changed. Delete it and run agate snapshot to rebuild it.`,
    expectedHash: snap.stateHash,
    actualHash: actual,
  };
}

type Fold = {
  tx: PoolClient;
  session: Session;
  folder: Folder;
  checks: SnapshotRow[];
  intact: Set<number>;
  out: Divergence[];
};

/** Folds the tail with the checks; returns the newest snapshot point found good on the way. */
async function foldChecked(run: Fold): Promise<AuditStart | null> {
  const { tx, session, folder, checks, out } = run;
  const anchors = await listAnchors(tx, session.id);
  const at = new Set([...checks, ...anchors].map((c) => c.sequence));
  let good: AuditStart | null = null;
  let current: ReplayEvent | undefined;
  try {
    for await (const page of readTailPages(tx, session, folder.sequence, session.lastSequence)) {
      for (const event of page) {
        current = event;
        folder.apply(event);
        if (!at.has(folder.sequence)) continue;
        const before = out.length;
        await checkSnapshotAt(tx, session.id, checks, folder, event, out);
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
function startOf(start: AuditStart | null, snapshots: SnapshotRow[]): FoldStart | undefined {
  if (start === null || start.snapshotSequence === 0) return undefined;
  const snap = snapshots.find((s) => s.sequence === start.snapshotSequence);
  if (snap === undefined || stateHash(snap.state) !== start.stateHash) return undefined;
  return { sequence: snap.sequence, state: snap.state, previousHash: start.chainHash };
}

/**
 * Audits one session from `start` (null: from genesis) to its last event; `since` is the last
 * completed audit's mark. Undefined when the tenant has no such session.
 */
export async function auditSession(
  tx: PoolClient,
  games: GameCatalog,
  sessionId: string,
  start: AuditStart | null,
  since: Date | null,
): Promise<SessionAudit | undefined> {
  let loaded = await load(tx, sessionId, start?.snapshotSequence ?? 0, since);
  if (loaded === undefined) return undefined;
  const foldStart = loaded.rewrittenBelow ? undefined : startOf(start, loaded.snapshots);
  if (foldStart === undefined && (start?.snapshotSequence ?? 0) > 0)
    loaded = (await load(tx, sessionId, 0, null)) ?? loaded;
  const { session, snapshots } = loaded;
  const rules = games.find(session.rules, session.rulesVersion);
  const from = foldStart?.sequence ?? 0;
  const checks = snapshots.filter((s) => s.sequence > from);
  const out: Divergence[] = [];
  const intact = new Set<number>();
  for (const snap of checks) {
    const actual = stateHash(snap.state);
    if (actual === snap.stateHash) intact.add(snap.sequence);
    else out.push(corruptContent(snap, actual));
  }
  const base = { sessionId, tenantId: session.tenantId, snapshotsChecked: checks.length };
  if (rules === undefined)
    return { ...base, divergences: out, fromGenesis: from === 0, progress: null };
  const folder = createFolder(rules, foldSessionOf(session), foldStart);
  const initial: AuditStart | null =
    foldStart === undefined && folder.chainHead !== null
      ? { snapshotSequence: 0, chainHash: folder.chainHead, stateHash: stateHash(folder.state) }
      : (start ?? null);
  const good = await foldChecked({ tx, session, folder, checks, intact, out });
  if (out.length === 0) checkHead(session, session.lastSequence, folder, out);
  const point = good ?? initial;
  const progress =
    out.length === 0 && point !== null
      ? { ...point, verifiedSequence: session.lastSequence }
      : null;
  return { ...base, divergences: out, fromGenesis: from === 0, progress };
}
