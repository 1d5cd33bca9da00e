import { AgateError } from '../errors/index.js';
import { fromPgError } from '../db/index.js';
import type { Queryable } from '../db/index.js';
import type { AppendOutcome } from './append-call.js';
import type { PreparedEvent } from './prepare-batch.js';
import type { WrittenBy } from './written-by.js';

/** One session's row from `game.append_sessions`. */
export type SessionOutcomeRow = {
  idx: number;
  outcome: AppendOutcome | 'session_busy' | 'failed';
  first_sequence: number | null;
  last_sequence: number | null;
  conflict_index: number | null;
  /** With `failed`: the SQLSTATE and message of the error that rolled the session back. */
  error_state: string | null;
  error_message: string | null;
};

export type SessionCall = {
  sessionId: string;
  expected: number | null;
  prepared: readonly PreparedEvent[];
};

/**
 * One call of `game.append_sessions` (migrations/repeatable/game.append_sessions.sql): every
 * session's batch in one statement and one commit, a row per call in `calls`' order.
 */
export async function callAppendSessions(
  executor: Queryable,
  tenantId: string,
  calls: readonly SessionCall[],
  lockTimeoutMs: number,
  writtenBy: WrittenBy,
): Promise<SessionOutcomeRow[]> {
  const batches = calls.map((c) => ({
    sessionId: c.sessionId,
    expected: c.expected,
    events: c.prepared,
  }));
  let rows: SessionOutcomeRow[];
  try {
    const result = await executor.query<SessionOutcomeRow>(
      `SELECT idx, outcome, first_sequence, last_sequence, conflict_index, error_state, error_message
         FROM game.append_sessions($1, $2, $3, $4)`,
      [tenantId, JSON.stringify(batches), lockTimeoutMs, writtenBy],
    );
    rows = result.rows;
  } catch (error) {
    throw fromPgError(error);
  }
  const ordered = calls.map((_, i) => rows.find((r) => r.idx === i));
  if (ordered.some((r) => r === undefined)) {
    throw new AgateError('internal', 'game.append_sessions returned no row for some session.');
  }
  return ordered as SessionOutcomeRow[];
}
