// Appends with the rules' verdicts (ADR 0030). The verdicts are computed from the committed state
// at some sequence n, and the batch is then stored only after n (an internal expected sequence),
// so the state they were judged from is the state the batch follows. When another writer got in
// between (and the caller gave no expectedSequence of its own), the batch is judged again from
// the new state, a bounded number of times. A batch that is already stored (a retry) is judged
// from the state just before its first sequence, so it gets the verdicts of the first time.
import { AgateError } from '../errors/index.js';
import type { Queryable } from '../db/index.js';
import { callAppend, probeOnly } from './append-call.js';
import type { AppendCall, OutcomeRow } from './append-call.js';
import { idConflict, rejected, rulesRejected } from './append-result.js';
import type { AppendAccepted, AppendResult } from './append-result.js';
import type { BatchJudge, JudgedBatch, JudgeRequest, VerdictMode } from './batch-judge.js';
import type { PreparedEvent } from './prepare-batch.js';

/** How many times a batch is judged again after other writers moved the session on. */
export const maxJudgeAttempts = 8;

export type JudgedAppend = {
  executor: Queryable;
  judge: BatchJudge;
  mode: VerdictMode;
  call: AppendCall;
  request: JudgeRequest;
  lockTimeoutMs: number;
};

function acceptedOf(
  first: number,
  prepared: readonly PreparedEvent[],
  judged: JudgedBatch,
  duplicate: boolean,
): AppendAccepted {
  const last = first + prepared.length - 1;
  return {
    ok: true,
    duplicate,
    firstSequence: first,
    lastSequence: last,
    events: prepared.map((e, i) => ({ eventId: e.eventId, sequence: first + i })),
    verdicts: judged.verdicts,
    sequence: last,
    stateHash: judged.stateHash,
  };
}

/** A refusal by the append function's outcome, or undefined for appended/duplicate/conflict. */
function refusalOf(
  row: OutcomeRow,
  sessionId: string,
  prepared: readonly PreparedEvent[],
): AppendResult | undefined {
  switch (row.outcome) {
    case 'session_not_found':
    case 'session_ended':
      return rejected(row.outcome, sessionId, row.last_sequence);
    case 'event_id_conflict':
      return idConflict(sessionId, row.last_sequence, row.conflict_index ?? 0, prepared);
    default:
      return undefined;
  }
}

/** The stored batch's verdicts, judged from the state just before its first sequence. */
async function retried(work: JudgedAppend, row: OutcomeRow): Promise<AppendAccepted> {
  const first = row.first_sequence ?? 0;
  const judged = await work.judge({ ...work.request, after: first - 1 });
  return acceptedOf(first, work.request.events, judged, true);
}

/**
 * One attempt: the verdicts at the session's current sequence, then the append after exactly
 * that sequence (or, when nothing may be stored, a probe that stores nothing). Undefined: the
 * session moved on meanwhile, judge again.
 */
async function attempt(work: JudgedAppend): Promise<AppendResult | undefined> {
  const { call, request, mode } = work;
  const prepared = request.events;
  const judged = await work.judge(request);
  const n = judged.after;
  const expectedHolds = call.expected === null || call.expected === n;
  const refused = mode === 'refuse' && judged.verdicts.some((v) => !v.accepted);
  const expected = expectedHolds && !refused ? n : probeOnly;
  const row = await callAppend(work.executor, { ...call, expected }, prepared, work.lockTimeoutMs);
  if (row.outcome === 'appended') {
    judged.keep();
    return acceptedOf(row.first_sequence ?? n + 1, prepared, judged, false);
  }
  if (row.outcome === 'duplicate') return retried(work, row);
  const refusal = refusalOf(row, call.sessionId, prepared);
  if (refusal !== undefined) return refusal;
  // sequence_conflict: the session is not at n (anymore), or this was the probe.
  const current = row.last_sequence ?? n;
  if (current !== n) {
    const judgeAgain = call.expected === null || call.expected === current;
    return judgeAgain ? undefined : rejected('sequence_conflict', call.sessionId, current);
  }
  if (!expectedHolds) return rejected('sequence_conflict', call.sessionId, current);
  return rulesRejected(call.sessionId, n, judged.verdicts);
}

/** `appendEvents` with verdicts; see the file's header for the protocol. */
export async function appendJudged(work: JudgedAppend): Promise<AppendResult> {
  for (let i = 0; i < maxJudgeAttempts; i += 1) {
    const result = await attempt(work);
    if (result !== undefined) return result;
  }
  throw new AgateError(
    'session_busy',
    `Session ${work.call.sessionId} moved on ${maxJudgeAttempts} times while its batch was being judged; retry the same batch (same ids), or append with expectedSequence.`,
  );
}
