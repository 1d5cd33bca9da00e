import type { ReplayResult, TraceStep } from './replay-session.js';

/** A replay as agate hands it out, over HTTP and from `agate replay --json`. */
export type ReplayAnswer = Omit<ReplayResult, 'trace'> & { trace?: TraceStep[] };

/** The fields of an answer that are bookkeeping of the replay rather than its outcome. */
export type ReplayBookkeeping = 'rulesVersion' | 'eventsReplayed';

/**
 * The answer to a replay, in its fixed field order; `trace` only when one was asked for. The
 * fields named in `leaveOut` are dropped and the others keep their order.
 */
export function replayAnswer<K extends ReplayBookkeeping = never>(
  result: ReplayResult,
  leaveOut: readonly K[] = [],
): Omit<ReplayAnswer, K> {
  const answer: ReplayAnswer = {
    sessionId: result.sessionId,
    rulesVersion: result.rulesVersion,
    sequence: result.sequence,
    stateHash: result.stateHash,
    state: result.state,
    verified: result.verified,
    divergences: result.divergences,
    snapshotUsed: result.snapshotUsed,
    eventsReplayed: result.eventsReplayed,
    ...(result.trace === null ? {} : { trace: result.trace }),
  };
  for (const field of leaveOut) delete (answer as Partial<ReplayAnswer>)[field];
  return answer;
}
