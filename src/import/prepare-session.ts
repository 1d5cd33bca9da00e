import { uuidv7 } from 'uuidv7';
import { AgateError } from '../errors/index.js';
import { deriveEventSeed, drawSessionSecret, prepareBatch, shapeBatch } from '../events/index.js';
import type { Limits, PreparedEvent } from '../events/index.js';
import { chainLink, sessionRootHash } from '../hashing/index.js';
import { snapshotBoundaries } from '../snapshots/index.js';
import type { SnapshotReason } from '../snapshots/index.js';
import { createFolder, stateHash } from '../../replay/index.js';
import type { GameCatalog } from '../game/index.js';
import type { RecordedSession } from './recorded-session.js';
import { checkSessionIdentity } from './session-identity.js';
import type { SessionIdentity } from './session-identity.js';

/** A snapshot the import writes; the state as JSON text, taken when the fold reached it. */
export type ImportSnapshot = {
  id: string;
  sequence: number;
  stateJson: string;
  stateHash: string;
  reason: SnapshotReason;
};

/** Everything one session's transaction writes, computed before it starts. */
export type PreparedSession = {
  identity: SessionIdentity;
  tenantId: string;
  /** The new session's per-event seed secret (ADR 0013), stored with its row. */
  secret: Buffer;
  /** The chain's root (hex), kept in the session row for the retry comparison. */
  rootHash: string;
  events: PreparedEvent[];
  /** Hex chain hash of each event, in sequence order (sequence = index + 1). */
  hashes: string[];
  headHash: string;
  ended: boolean;
  snapshots: ImportSnapshot[];
};

/**
 * Validates the events with the append path's own code (`shapeBatch`, `prepareBatch`: the same
 * envelope, size, depth and schema checks and seeds), with the session as the batch: its length
 * is bounded by `maxSessionEvents` instead of `maxBatchEvents`. Recorded seeds are kept (the
 * import is a trusted path that carries history); a seedless randomness event gets the seed an
 * append would derive from the new session's secret.
 */
function prepareEvents(
  identity: SessionIdentity,
  events: unknown,
  limits: Limits,
  maxSessionEvents: number,
  secret: Buffer,
): PreparedEvent[] {
  const count = Array.isArray(events) ? events.length : 0;
  if (count > maxSessionEvents) {
    throw new AgateError(
      'batch_too_large',
      `An imported session holds at most ${maxSessionEvents} events and this one has ${count}; raise maxSessionEvents or import it through appends.`,
      { details: { count, limit: maxSessionEvents } },
    );
  }
  const shaped = shapeBatch(events, { ...limits, maxBatchEvents: Math.max(count, 1) });
  return prepareBatch(identity.rules.eventTypes, shaped, {
    seedFor: (eventId) => deriveEventSeed(secret, eventId),
    recordedSeeds: true,
  });
}

/** sha256(previous || int8 sequence || content hash) from the session's root, as append_events does. */
function chainOf(identity: SessionIdentity, tenantId: string, events: readonly PreparedEvent[]) {
  const root = sessionRootHash({
    sessionId: identity.id,
    tenantId,
    seed: identity.seed,
    rules: identity.rules.name,
    rulesVersion: identity.rules.version,
  });
  let head = root;
  const hashes = events.map((event, i) => {
    head = chainLink(head, i + 1, Buffer.from(event.contentHash, 'hex'));
    return head.toString('hex');
  });
  return { hashes, headHash: head.toString('hex'), rootHash: root.toString('hex') };
}

/**
 * The snapshots the inline snapshotter would write for these events as one batch (every 50th
 * sequence and each day boundary), folded in process from the same validated events.
 */
function snapshotsOf(
  identity: SessionIdentity,
  tenantId: string,
  events: readonly PreparedEvent[],
): ImportSnapshot[] {
  const { rules } = identity;
  const boundaries = snapshotBoundaries(
    1,
    events.map((e) => e.type),
    rules.dayBoundaryTypes,
  );
  const last = boundaries.at(-1)?.sequence ?? 0;
  const folder = createFolder(rules, {
    sessionId: identity.id,
    tenantId,
    seed: identity.seed,
    rules: rules.name,
    rulesVersion: rules.version,
    config: identity.config,
  });
  const snapshots: ImportSnapshot[] = [];
  let next = 0;
  for (let i = 0; i < last; i += 1) {
    const event = events[i] as PreparedEvent;
    folder.apply({ ...event, sequence: i + 1 });
    const boundary = boundaries[next];
    if (boundary?.sequence !== i + 1) continue;
    const state = folder.state;
    snapshots.push({
      id: uuidv7(),
      sequence: boundary.sequence,
      stateJson: JSON.stringify(state),
      stateHash: stateHash(state),
      reason: boundary.reason,
    });
    next += 1;
  }
  return snapshots;
}

export type PrepareSettings = {
  /** Checked already (`requireTenantId`). */
  tenantId: string;
  limits: Limits;
  maxSessionEvents: number;
};

/**
 * Checks, validates, chains and snapshots one recorded session in memory, as `importSessions`
 * does before writing it: pure CPU, nothing is written. Throws the AgateError an append or
 * `createSession` would for the same input.
 */
export function prepareRecordedSession(
  games: GameCatalog,
  settings: PrepareSettings,
  recorded: RecordedSession,
): PreparedSession {
  const { tenantId, limits, maxSessionEvents } = settings;
  const identity = checkSessionIdentity(games, recorded, limits);
  const secret = drawSessionSecret();
  const prepared = prepareEvents(identity, recorded.events, limits, maxSessionEvents, secret);
  const { hashes, headHash, rootHash } = chainOf(identity, tenantId, prepared);
  return {
    identity,
    tenantId,
    secret,
    rootHash,
    events: prepared,
    hashes,
    headHash,
    ended: prepared.at(-1)?.type === 'session.ended',
    snapshots: snapshotsOf(identity, tenantId, prepared),
  };
}
