import { AgateError, isAgateError } from '../src/errors/index.js';
import { withTenant } from '../src/db/index.js';
import type { Pool, PoolClient, TenantRole } from '../src/db/index.js';
import {
  checkRef,
  listAnchors,
  listSnapshots,
  notFound,
  selectSession,
  selectSessionStart,
} from '../src/events/index.js';
import type {
  Anchor,
  Session,
  SessionOrigin,
  SessionStart,
  StoredSnapshot,
  TailEvent,
} from '../src/events/index.js';
import type { GameCatalog, GameRules } from '../src/game/index.js';
import type { Divergence } from './divergence.js';
import { createFolder, integrityError, stateHash } from './fold.js';
import type { Folder, FoldSession, ReplayEvent } from './fold.js';
import {
  checkAnchorAt,
  checkBeyondEnd,
  checkHead,
  checkSnapshotAt,
  integrityDivergence,
} from './replay-checks.js';
import { pickSnapshot } from './pick-snapshot.js';
import { readTailPages, tailPageSize } from './read-tail.js';

/** What replay reads through: the pool and the games whose rules fold the events. */
export type ReplayDeps = { pool: Pool; games: GameCatalog };

export type ReplayOptions = {
  tenantId: string;
  sessionId: string;
  role?: TenantRole;
  /** Replay up to this sequence (default: the session's last). */
  to?: number;
  /** Start from the newest usable snapshot (default) or from the initial state. */
  from?: 'snapshot' | 'genesis';
  /**
   * Replay from genesis through the whole session (whatever `to` is) and check every stored
   * snapshot, every chain link, every anchor and the head; the state returned is still at `to`.
   */
  verify?: boolean;
  /** Record the state hash (and with 'state' the state) after every event. */
  trace?: boolean | 'state';
};

export type TraceStep = { sequence: number; type: string; stateHash: string; state?: unknown };

export type ReplayResult = {
  sessionId: string;
  rulesVersion: number;
  sequence: number;
  stateHash: string;
  state: unknown;
  /** null unless `verify` was asked for. */
  verified: boolean | null;
  divergences: Divergence[];
  snapshotUsed: { sequence: number; reason: string } | null;
  eventsReplayed: number;
  trace: TraceStep[] | null;
};

export function rulesOf(games: GameCatalog, session: Session): GameRules {
  const rules = games.find(session.rules, session.rulesVersion);
  if (rules === undefined) {
    throw new AgateError(
      'unknown_rules',
      `Session ${session.id} plays ${session.rules} v${session.rulesVersion}, which this build of agate does not register; replay it with a build that does.`,
    );
  }
  return rules;
}

function targetOf(session: Session, to: number | undefined): number {
  if (to === undefined) return session.lastSequence;
  if (!Number.isSafeInteger(to) || to < 0 || to > session.lastSequence) {
    throw new AgateError(
      'invalid_request',
      `to must be an integer from 0 to ${session.lastSequence}, the session's last sequence.`,
    );
  }
  return to;
}

export function foldSessionOf(session: SessionOrigin): FoldSession {
  return {
    sessionId: session.id,
    tenantId: session.tenantId,
    seed: session.seed,
    rules: session.rules,
    rulesVersion: session.rulesVersion,
    config: session.config,
  };
}

/**
 * Rebuilds a session's state at a sequence from its recorded seed and events, streaming the
 * events in sequence order with flat memory, in one read transaction in the tenant's context.
 * Checks the sequence and the hash chain as it goes: without `verify` a broken one throws
 * `integrity_violation`; with `verify` the replay starts from genesis, compares every stored
 * snapshot on the way and the head at the end, and reports what it found.
 */
export async function replaySession(
  deps: ReplayDeps,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const { tenantId, sessionId } = checkRef(options);
  return withTenant(deps.pool, { tenantId, role: options.role }, (tx) =>
    replayInTransaction(tx, deps.games, sessionId, options),
  );
}

/** The same replay in the caller's transaction, which has set the tenant (`withTenant`). */
export async function replayInTransaction(
  tx: PoolClient,
  games: GameCatalog,
  sessionId: string,
  options: Omit<ReplayOptions, 'tenantId' | 'sessionId' | 'role'>,
): Promise<ReplayResult> {
  const fromSnapshot = options.verify !== true && options.from !== 'genesis';
  const loaded = fromSnapshot
    ? await selectSessionStart(tx, sessionId, options.to, tailPageSize)
    : await selectSession(tx, sessionId).then((session) => session && { session, newest: null });
  if (loaded === undefined) throw notFound(sessionId);
  return replayIn(tx, games, loaded, options);
}

/** The most events one replay traces (each step holds a hash, and with `state` a whole state). */
export const maxTraceSteps = { hashes: 100_000, states: 1_000 } as const;

function traceFor(asked: ReplayOptions['trace'], events: number): TraceStep[] | null {
  if (asked === undefined || asked === false) return null;
  const limit = asked === 'state' ? maxTraceSteps.states : maxTraceSteps.hashes;
  if (events > limit) {
    throw new AgateError(
      'invalid_request',
      `A trace${asked === 'state' ? ' with states' : ''} covers at most ${limit} events and this replay folds ${events}; trace a shorter range with to (and from=snapshot).`,
    );
  }
  return [];
}

/** What the fold checks on the way with `verify`; null without it. */
type VerifyChecks = { snapshots: StoredSnapshot[]; at: Set<number>; anchors: Anchor[] } | null;

async function verifyChecks(
  tx: PoolClient,
  sessionId: string,
  verify: boolean,
): Promise<VerifyChecks> {
  if (!verify) return null;
  // Every snapshot, even past the last sequence: one there is itself a finding.
  const snapshots = await listSnapshots(tx, sessionId, Number.MAX_SAFE_INTEGER);
  const anchors = await listAnchors(tx, sessionId);
  const at = new Set([...snapshots, ...anchors].map((c) => c.sequence));
  return { snapshots, at, anchors };
}

type FoldRun = {
  tx: PoolClient;
  session: Session;
  /** The sequence whose state is asked for. */
  target: number;
  /** How far the fold goes: the target, or with verify the session's last sequence. */
  end: number;
  folder: Folder;
  /** The first page of the tail, when it came with the snapshot. */
  firstPage: TailEvent[] | undefined;
  checks: VerifyChecks;
  trace: TraceStep[] | null;
  withState: boolean;
  divergences: Divergence[];
  /** The state at the target, once the fold has passed it. */
  atTarget: { state: unknown } | null;
};

async function checkAt(run: FoldRun, event: ReplayEvent | undefined): Promise<void> {
  const { checks, folder } = run;
  if (run.folder.sequence === run.target) run.atTarget = { state: folder.state };
  if (checks === null || !checks.at.has(folder.sequence)) return;
  await checkSnapshotAt(run.tx, run.session, checks.snapshots, folder, event, run.divergences);
  if (event !== undefined) checkAnchorAt(checks.anchors, folder, event, run.divergences);
}

/** Events the read did not return although the session row counts them: a loud error, never a short state. */
function missingTail(run: FoldRun): AgateError {
  const { folder, end } = run;
  return integrityError(
    'missing',
    folder.sequence + 1,
    `The session's events stop at ${folder.sequence} but it has ${run.session.lastSequence}: events ${folder.sequence + 1} to ${end} are missing from the store.`,
  );
}

/** Streams the tail into the folder; with verify, an integrity failure becomes a divergence. */
async function foldTail(run: FoldRun): Promise<void> {
  const { tx, session, folder, checks } = run;
  let current: ReplayEvent | undefined;
  try {
    await checkAt(run, undefined);
    const pages = readTailPages(tx, session, folder.sequence, run.end, run.firstPage);
    for await (const page of pages) {
      for (const event of page) {
        current = event;
        applyOne(folder, event, event.sequence <= run.target ? run.trace : null, run.withState);
        await checkAt(run, event);
      }
    }
    if (folder.sequence < run.end) throw missingTail(run);
  } catch (error) {
    if (checks === null || !isAgateError(error, 'integrity_violation')) throw error;
    run.divergences.push(integrityDivergence(error, current));
  }
}

async function replayIn(
  tx: PoolClient,
  games: GameCatalog,
  { session, newest }: SessionStart,
  options: Omit<ReplayOptions, 'tenantId' | 'sessionId' | 'role'>,
): Promise<ReplayResult> {
  const rules = rulesOf(games, session);
  const target = targetOf(session, options.to);
  const verify = options.verify === true;
  const picked = await pickSnapshot(tx, session, target, newest);
  const folder = createFolder(rules, foldSessionOf(session), picked.start);
  const checks = await verifyChecks(tx, session.id, verify);
  const startedAt = folder.sequence;
  const trace = traceFor(options.trace, target - startedAt);
  const run: FoldRun = {
    tx,
    session,
    target,
    end: verify ? session.lastSequence : target,
    folder,
    firstPage: picked.tail,
    checks,
    trace,
    withState: options.trace === 'state',
    divergences: [...picked.corrupt],
    atTarget: null,
  };
  await foldTail(run);
  const { divergences } = run;
  if (checks !== null) {
    checkHead(session, folder, divergences);
    if (folder.sequence === session.lastSequence) {
      checkBeyondEnd(session, checks.snapshots, checks.anchors, divergences);
    }
  }
  // With verify a break before the target leaves the state where the fold stopped.
  const sequence = run.atTarget === null ? folder.sequence : target;
  const state = run.atTarget === null ? folder.state : run.atTarget.state;
  return {
    sessionId: session.id,
    rulesVersion: session.rulesVersion,
    sequence,
    stateHash: stateHash(state),
    state,
    verified: verify ? divergences.length === 0 : null,
    divergences,
    snapshotUsed: picked.used && { sequence: picked.used.sequence, reason: picked.used.reason },
    eventsReplayed: sequence - startedAt,
    trace,
  };
}

function applyOne(
  folder: Folder,
  event: ReplayEvent,
  trace: TraceStep[] | null,
  withState: boolean,
): void {
  folder.apply(event);
  if (trace === null) return;
  const step: TraceStep = {
    sequence: event.sequence,
    type: event.type,
    stateHash: stateHash(folder.state),
  };
  if (withState) step.state = folder.state;
  trace.push(step);
}
