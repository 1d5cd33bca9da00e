import { AgateError } from '../errors/index.js';
import { fromPgError } from '../db/index.js';
import type { Queryable } from '../db/index.js';
import type { PreparedEvent } from './prepare-batch.js';
import type { WrittenBy } from './written-by.js';

export type AppendOutcome =
  | 'session_not_found'
  | 'session_ended'
  | 'sequence_conflict'
  | 'event_id_conflict'
  | 'appended'
  | 'duplicate';

export type OutcomeRow = {
  outcome: AppendOutcome;
  first_sequence: number | null;
  last_sequence: number | null;
  conflict_index: number | null;
};

export type AppendCall = {
  tenantId: string;
  sessionId: string;
  /** Compared with the session's last sequence under the lock; null: not compared. */
  expected: number | null;
  writtenBy: WrittenBy;
};

/**
 * Never the last sequence of any session: a call with it as `expected` stores nothing and
 * answers what the append function knows of the batch (a retry's sequences, an id conflict, an
 * ended session, or the current sequence).
 */
export const probeOnly = -1;

/** One call of `game.append_events` (migrations/repeatable/game.append_events.sql). */
export async function callAppend(
  executor: Queryable,
  input: AppendCall,
  prepared: readonly PreparedEvent[],
  lockTimeoutMs: number,
): Promise<OutcomeRow> {
  let row: OutcomeRow | undefined;
  try {
    const result = await executor.query<OutcomeRow>(
      `SELECT outcome, first_sequence, last_sequence, conflict_index
         FROM game.append_events($1, $2, $3, $4, $5, $6)`,
      [
        input.tenantId,
        input.sessionId,
        input.expected,
        JSON.stringify(prepared),
        lockTimeoutMs,
        input.writtenBy,
      ],
    );
    row = result.rows[0];
  } catch (error) {
    throw fromPgError(error);
  }
  if (row === undefined) throw new AgateError('internal', 'game.append_events returned no row.');
  return row;
}
