import { uuidv7 } from 'uuidv7';
import type { GameRules, GateEventInput } from '../../src/game/index.js';
import { chainLink, eventContentHash, sessionRootHash } from '../../src/hashing/index.js';
import { createFolder, stateHash } from '../../replay/index.js';
import type { FoldSession, ReplayEvent } from '../../replay/index.js';

export type FoldRun = {
  events: number;
  passes: number;
  elapsedMs: number;
  eventsPerSec: number;
  /** Wall time of each pass (one folder from the initial state over every event). */
  passMs: number[];
  /** The state hash after the last pass: every variant of the same events must agree on it. */
  stateHash: string;
};

/** A session identity for folding in memory; nothing is stored. */
export function foldSessionFor(seed: string, config: Record<string, unknown>): FoldSession {
  return {
    sessionId: uuidv7(),
    tenantId: uuidv7(),
    seed,
    rules: 'archive-gate',
    rulesVersion: 1,
    config,
  };
}

/** Event inputs as the store would hand them to replay, numbered from 1, without hashes. */
export function toReplayEvents(inputs: readonly GateEventInput[]): ReplayEvent[] {
  return inputs.map((input, i) => ({
    sequence: i + 1,
    eventId: uuidv7(),
    type: input.type,
    version: input.version,
    data: input.data,
  }));
}

/** The same events carrying the hash chain PostgreSQL would have stored for `session`. */
export function withHashChain(session: FoldSession, events: readonly ReplayEvent[]): ReplayEvent[] {
  let previous = sessionRootHash(session);
  return events.map((event) => {
    const link = chainLink(previous, event.sequence, eventContentHash(event));
    previous = link;
    return { ...event, hash: link.toString('hex') };
  });
}

function foldPass(rules: GameRules, session: FoldSession, events: readonly ReplayEvent[]): unknown {
  const folder = createFolder(rules, session);
  for (const event of events) folder.apply(event);
  return folder.state;
}

/**
 * Folds `events` from the initial state again and again for `durationMs` (after `warmupMs` of
 * untimed passes, so the JIT has settled); the pass running at the deadline finishes and counts.
 */
export function measureFold(
  rules: GameRules,
  session: FoldSession,
  events: readonly ReplayEvent[],
  durationMs: number,
  warmupMs: number,
): FoldRun {
  const warmupEnd = performance.now() + warmupMs;
  while (performance.now() < warmupEnd) foldPass(rules, session, events);
  const passMs: number[] = [];
  let state: unknown;
  const start = performance.now();
  const deadline = start + durationMs;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    state = foldPass(rules, session, events);
    passMs.push(performance.now() - t0);
  }
  const elapsedMs = performance.now() - start;
  return {
    events: events.length,
    passes: passMs.length,
    elapsedMs,
    eventsPerSec: (passMs.length * events.length) / (elapsedMs / 1000),
    passMs,
    stateHash: stateHash(state),
  };
}
