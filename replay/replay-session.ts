import { AgateError, isAgateError } from '../src/errors/index.js';
import type { Pool, TenantRole } from '../src/db/index.js';
import type { EventStore, Session } from '../src/events/index.js';
import type { GameCatalog, GameRules } from '../src/game/index.js';
import { diffPaths } from './diff.js';
import type { Divergence, DivergenceKind } from './divergence.js';
import { createFolder, stateHash } from './fold.js';
import type { Folder, FoldSession, FoldStart, ReplayEvent } from './fold.js';
import { listSnapshots, loadSnapshotState } from './load-snapshots.js';
import type { StoredSnapshot } from './load-snapshots.js';

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

type Start = { start?: FoldStart; used: StoredSnapshot | null; corrupt: Divergence[] };

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

/** The chain hash of the event at `sequence`: where the chain check resumes after a snapshot. */
async function hashAt(
  deps: ReplayDeps,
  ctx: { tenantId: string; role?: TenantRole },
  sessionId: string,
  sequence: number,
): Promise<Buffer | undefined> {
  const page = await deps.store.readEvents({ ...ctx, sessionId, after: sequence - 1, limit: 1 });
  const event = page.events[0];
  return event?.sequence === sequence ? Buffer.from(event.hash, 'hex') : undefined;
}

/** The newest snapshot at or below the target, of the session's rules version, whose state hashes to its recorded hash. */
async function pickSnapshot(
  deps: ReplayDeps,
  ctx: { tenantId: string; role?: TenantRole },
  session: Session,
  target: number,
): Promise<Start> {
  const corrupt: Divergence[] = [];
  for (const snap of await listSnapshots(deps.pool, ctx, session.id, target)) {
    if (snap.rulesVersion !== session.rulesVersion || snap.sequence === 0) continue;
    const state = await loadSnapshotState(deps.pool, ctx, session.id, snap.sequence);
    const actual = stateHash(state);
    if (actual === snap.stateHash) {
      const previousHash = await hashAt(deps, ctx, session.id, snap.sequence);
      return { start: { sequence: snap.sequence, state, previousHash }, used: snap, corrupt };
    }
    corrupt.push({
      kind: 'snapshot_corrupt',
      sequence: snap.sequence,
      event: null,
      message: `The snapshot at ${snap.sequence} does not hash to its recorded hash; it was not used. Delete it and run agate snapshot to rebuild it.`,
      expectedHash: snap.stateHash,
      actualHash: actual,
    });
  }
  return { used: null, corrupt };
}

function integrityDivergence(error: AgateError, event: ReplayEvent | undefined): Divergence {
  const details = error.details as { kind: DivergenceKind; sequence: number };
  return {
    kind: details.kind,
    sequence: details.sequence,
    event: event ? { eventId: event.eventId, type: event.type } : null,
    message: error.message,
  };
}

/**
 * Rebuilds a session's state at a sequence from its recorded seed and events, streaming the
 * events in sequence order with flat memory. Checks the sequence and the hash chain as it goes:
 * without `verify` a broken one throws `integrity_violation`; with `verify` the replay starts
 * from genesis, compares every stored snapshot on the way, and reports what it found.
 */
export async function replaySession(
  deps: ReplayDeps,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const ctx = { tenantId: options.tenantId, role: options.role };
  const session = await deps.store.getSession({ ...ctx, sessionId: options.sessionId });
  const rules = rulesOf(deps.games, session);
  const target = targetOf(session, options.to);
  const verify = options.verify === true;
  const picked =
    verify || options.from === 'genesis'
      ? { used: null, corrupt: [] }
      : await pickSnapshot(deps, ctx, session, target);
  const folder = createFolder(rules, foldSessionOf(session), picked.start);
  const checks = verify ? await listSnapshots(deps.pool, ctx, session.id, target) : [];
  const divergences: Divergence[] = [...picked.corrupt];
  const trace: TraceStep[] | null = options.trace ? [] : null;
  const startedAt = folder.sequence;
  let current: ReplayEvent | undefined;
  try {
    const events = deps.store.streamEvents({
      ...ctx,
      sessionId: session.id,
      after: startedAt,
      to: target,
    });
    for await (const event of events) {
      current = event;
      applyOne(folder, event, trace, options.trace === 'state');
      if (verify) await checkSnapshots(deps, ctx, session.id, checks, folder, event, divergences);
    }
  } catch (error) {
    if (!verify || !isAgateError(error, 'integrity_violation')) throw error;
    divergences.push(integrityDivergence(error, current));
  }
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

async function checkSnapshots(
  deps: ReplayDeps,
  ctx: { tenantId: string; role?: TenantRole },
  sessionId: string,
  checks: StoredSnapshot[],
  folder: Folder,
  event: ReplayEvent,
  out: Divergence[],
): Promise<void> {
  for (const snap of checks) {
    if (snap.sequence !== folder.sequence) continue;
    const actual = stateHash(folder.state);
    if (actual === snap.stateHash) continue;
    const stored = await loadSnapshotState(deps.pool, ctx, sessionId, snap.sequence);
    out.push({
      kind: 'snapshot',
      sequence: snap.sequence,
      event: { eventId: event.eventId, type: event.type },
      message: `The ${snap.reason} snapshot at ${snap.sequence} disagrees with the replayed state (rules v${snap.rulesVersion}).`,
      expectedHash: snap.stateHash,
      actualHash: actual,
      paths: diffPaths(stored, folder.state),
    });
  }
}

function checkHead(session: Session, target: number, folder: Folder, out: Divergence[]): void {
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
