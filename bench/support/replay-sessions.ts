import { createCacheHealth, currentState } from '../../src/cache/index.js';
import type { CurrentState } from '../../src/cache/index.js';
import { playSession } from '../../src/game/index.js';
import type { GateEventInput } from '../../src/game/index.js';
import type { Agate } from '../../src/runtime/index.js';
import type { ReplayResult } from '../../replay/index.js';

/** A stored archive-gate session with one manual snapshot `tail` events before its end. */
export type FilledSession = {
  sessionId: string;
  events: number;
  snapshotSequence: number;
  fillMs: number;
};

export type TailReplays = {
  latenciesMs: number[];
  /** The last checked replay, for the cross-check against a genesis replay. */
  last: ReplayResult;
  problems: string[];
};

const appendBatch = 500;

async function appendAll(
  agate: Agate,
  ref: { tenantId: string; sessionId: string },
  inputs: readonly GateEventInput[],
): Promise<void> {
  for (let i = 0; i < inputs.length; i += appendBatch) {
    const events = inputs.slice(i, i + appendBatch);
    // The bot's history with its own seeds, so the replays fold what the bench folds.
    const result = await agate.store.appendEvents({ ...ref, events, recordedSeeds: true });
    if (!result.ok) throw new Error(`append refused: ${result.reason}: ${result.message}`);
  }
}

/**
 * Creates a session played by the bot for `events` events: appends all but the last `tail` in
 * batches of 500, takes a manual snapshot there, then appends the tail. The agate given should
 * have inline snapshots off, so that the manual one is the only snapshot.
 */
export async function fillSession(
  agate: Agate,
  tenantId: string,
  events: number,
  tail: number,
): Promise<FilledSession> {
  const started = performance.now();
  const seed = `replay-bench-${events}`;
  const inputs = playSession(seed, {}, events, `replay-bench-bot-${events}`);
  const session = await agate.store.createSession({
    tenantId,
    rules: 'archive-gate',
    seed,
    config: {},
  });
  const ref = { tenantId, sessionId: session.id };
  await appendAll(agate, ref, inputs.slice(0, events - tail));
  const snapshot = await agate.snapshot(ref);
  await appendAll(agate, ref, inputs.slice(events - tail));
  return {
    sessionId: session.id,
    events,
    snapshotSequence: snapshot.sequence,
    fillMs: performance.now() - started,
  };
}

function checkTailReplay(session: FilledSession, tail: number, result: ReplayResult): string[] {
  const problems: string[] = [];
  const name = `${session.events}-event session`;
  if (result.snapshotUsed?.sequence !== session.events - tail) {
    problems.push(
      `${name}: replay started from snapshot ${JSON.stringify(result.snapshotUsed)}, not from ${session.events - tail}`,
    );
  }
  if (result.eventsReplayed !== tail) {
    problems.push(`${name}: replayed ${result.eventsReplayed} events, not ${tail}`);
  }
  if (result.sequence !== session.events) {
    problems.push(`${name}: replay ended at ${result.sequence}, not ${session.events}`);
  }
  return problems;
}

function checkCurrentState(
  session: FilledSession,
  replayed: ReplayResult,
  current: CurrentState,
): string[] {
  if (current.source === 'replay' && current.stateHash === replayed.stateHash) return [];
  return [
    `${session.events}-event session: current state ${current.stateHash}@${current.sequence} from ${current.source}, replay ${replayed.stateHash}@${replayed.sequence}`,
  ];
}

/**
 * Times `currentState` without Redis (the newest snapshot plus the tail, as a server without a
 * cache serves it), `samples` times after `warmups` untimed calls, one call at a time. Before
 * each call an untimed `agate.replay` checks that the snapshot and the tail are the ones
 * expected, and the timed result must agree with it. Problems are collected rather than thrown
 * so the figures still print.
 */
export async function timeTailReplays(
  agate: Agate,
  tenantId: string,
  session: FilledSession,
  options: { tail: number; warmups: number; samples: number },
): Promise<TailReplays> {
  const ref = { tenantId, sessionId: session.sessionId };
  const health = createCacheHealth();
  const problems: string[] = [];
  let last: ReplayResult | undefined;
  const latenciesMs: number[] = [];
  for (let i = 0; i < options.warmups + options.samples; i += 1) {
    last = await agate.replay(ref);
    problems.push(...checkTailReplay(session, options.tail, last));
    const t0 = performance.now();
    const current = await currentState(agate, null, health, ref);
    const ms = performance.now() - t0;
    if (i >= options.warmups) latenciesMs.push(ms);
    problems.push(...checkCurrentState(session, last, current));
  }
  if (last === undefined) throw new Error('timeTailReplays needs at least one call');
  return { latenciesMs, last, problems: [...new Set(problems)] };
}
