import { AgateError, isAgateError } from '../src/errors/index.js';
import { withTenant } from '../src/db/index.js';
import type { Pool, PoolClient, TenantRole } from '../src/db/index.js';
import { checkRef, notFound, selectSession } from '../src/events/index.js';
import type { EventStore, Session } from '../src/events/index.js';
import type { GameCatalog, GameRules } from '../src/game/index.js';
import type { Divergence } from './divergence.js';
import { createFolder, stateHash } from './fold.js';
import type { Folder, FoldSession, ReplayEvent } from './fold.js';
import { listSnapshots } from './load-snapshots.js';
import type { StoredSnapshot } from './load-snapshots.js';
import {
  checkAnchorAt,
  checkHead,
  checkSnapshotAt,
  integrityDivergence,
  listAnchors,
  pickSnapshot,
} from './replay-checks.js';
import type { Anchor } from './replay-checks.js';
import { selectSessionStart } from './load-start.js';
import type { SessionStart } from './load-start.js';
import { readTailPages } from './read-tail.js';
import type { TailEvent } from './read-tail.js';

export type ReplayDeps = { pool: Pool; store: EventStore; games: GameCatalog };

export type ReplayOptions = {
  tenantId: string;
  sessionId: string;
  role?: TenantRole;
  /** Replay up to this sequence (default: the session's last). */
  to?: number;
  /** Start from the newest usable snapshot (default) or from the initial state. */
  from?: 'snapshot' | 'genesis';
  /** Replay from genesis and check every stored snapshot and the chain on the way. */
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

function rulesOf(games: GameCatalog, session: Session): GameRules {
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
    ? await selectSessionStart(tx, sessionId, options.to)
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
  target: number,
  verify: boolean,
): Promise<VerifyChecks> {
  if (!verify) return null;
  const snapshots = await listSnapshots(tx, sessionId, target);
  const anchors = await listAnchors(tx, sessionId);
  const at = new Set([...snapshots, ...anchors].map((c) => c.sequence));
  return { snapshots, at, anchors };
}

type FoldRun = {
  tx: PoolClient;
  session: Session;
  target: number;
  folder: Folder;
  /** The first page of the tail, when it came with the snapshot. */
  firstPage: TailEvent[] | undefined;
  checks: VerifyChecks;
  trace: TraceStep[] | null;
  withState: boolean;
  divergences: Divergence[];
};

/** Streams the tail into the folder; with verify, an integrity failure becomes a divergence. */
async function foldTail(run: FoldRun): Promise<void> {
  const { tx, session, folder, checks } = run;
  let current: ReplayEvent | undefined;
  try {
    const pages = readTailPages(tx, session, folder.sequence, run.target, run.firstPage);
    for await (const page of pages) {
      for (const event of page) {
        current = event;
        applyOne(folder, event, run.trace, run.withState);
        if (checks === null || !checks.at.has(folder.sequence)) continue;
        await checkSnapshotAt(tx, session.id, checks.snapshots, folder, event, run.divergences);
        checkAnchorAt(checks.anchors, folder, event, run.divergences);
      }
    }
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
  const checks = await verifyChecks(tx, session.id, target, verify);
  const startedAt = folder.sequence;
  const trace = traceFor(options.trace, target - startedAt);
  const withState = options.trace === 'state';
  const divergences = [...picked.corrupt];
  const firstPage = picked.tail;
  await foldTail({ tx, session, target, folder, firstPage, checks, trace, withState, divergences });
  if (verify && divergences.length === 0) checkHead(session, target, folder, divergences);
  return {
    sessionId: session.id,
    rulesVersion: session.rulesVersion,
    sequence: folder.sequence,
    stateHash: stateHash(folder.state),
    state: folder.state,
    verified: verify ? divergences.length === 0 : null,
    divergences,
    snapshotUsed: picked.used && { sequence: picked.used.sequence, reason: picked.used.reason },
    eventsReplayed: folder.sequence - startedAt,
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
