import type { Redis } from 'ioredis';
import { currentState } from '../../src/cache/index.js';
import type { CacheHealth, CurrentState } from '../../src/cache/index.js';
import { playSession } from '../../src/game/index.js';
import type { Agate } from '../../src/runtime/index.js';

export type SessionRef = { tenantId: string; sessionId: string };
export type FilledHot = { refs: SessionRef[]; events: number; appends: number; fillMs: number };

export type CurrentStateTimes = {
  /** currentState with Redis: the hot entry (GET, parse, state hash check) and getSession. */
  cacheMs: number[];
  /** currentState without Redis: getSession, then the newest snapshot plus its tail. */
  replayMs: number[];
  problems: string[];
};

/**
 * Creates `count` bot-played sessions through the store, `batch` events per append, so the
 * agate's after-append hooks run as in production (inline snapshots, the Redis hot state).
 */
export async function fillHotSessions(
  agate: Agate,
  tenantId: string,
  options: { count: number; eventsOf: (index: number) => number; batch: number },
): Promise<FilledHot> {
  const started = performance.now();
  const refs: SessionRef[] = [];
  let events = 0;
  let appends = 0;
  for (let i = 0; i < options.count; i += 1) {
    const seed = `current-state-bench-${i}`;
    const inputs = playSession(seed, {}, options.eventsOf(i), `${seed}-bot`);
    const session = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
    const ref = { tenantId, sessionId: session.id };
    for (let at = 0; at < inputs.length; at += options.batch) {
      const result = await agate.store.appendEvents({
        ...ref,
        events: inputs.slice(at, at + options.batch),
        recordedSeeds: true,
      });
      if (!result.ok) throw new Error(`append refused: ${result.reason}: ${result.message}`);
      appends += 1;
    }
    events += inputs.length;
    refs.push(ref);
  }
  return { refs, events, appends, fillMs: performance.now() - started };
}

function checkPair(ref: SessionRef, cached: CurrentState, replayed: CurrentState): string[] {
  const problems: string[] = [];
  if (cached.source !== 'cache') problems.push(`${ref.sessionId}: not served from the cache`);
  if (replayed.source !== 'replay') problems.push(`${ref.sessionId}: not replayed without Redis`);
  if (cached.stateHash !== replayed.stateHash || cached.sequence !== replayed.sequence) {
    problems.push(
      `${ref.sessionId}: cache ${cached.stateHash}@${cached.sequence}, replay ${replayed.stateHash}@${replayed.sequence}`,
    );
  }
  return problems;
}

/**
 * Times `currentState` with Redis (hit) and without (snapshot + tail), interleaved one call each
 * per step over the sessions in turn, after `warmups` untimed steps. Every pair is checked: same
 * state hash and sequence, and the expected source.
 */
export async function timeCurrentState(
  agate: Agate,
  redis: Redis,
  health: CacheHealth,
  refs: readonly SessionRef[],
  options: { warmups: number; calls: number },
): Promise<CurrentStateTimes> {
  const times: CurrentStateTimes = { cacheMs: [], replayMs: [], problems: [] };
  for (let i = 0; i < options.warmups + options.calls; i += 1) {
    const ref = refs[i % refs.length];
    if (ref === undefined) throw new Error('timeCurrentState needs at least one session');
    const t0 = performance.now();
    const cached = await currentState(agate, redis, health, ref);
    const t1 = performance.now();
    const replayed = await currentState(agate, null, health, ref);
    const t2 = performance.now();
    if (i >= options.warmups) {
      times.cacheMs.push(t1 - t0);
      times.replayMs.push(t2 - t1);
    }
    times.problems.push(...checkPair(ref, cached, replayed));
  }
  times.problems = [...new Set(times.problems)];
  return times;
}
